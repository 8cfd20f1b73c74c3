"""``passerelle audit export`` and ``passerelle audit verify``: proof bundles from the command
line (issue 6). Thin glue: the work is in :mod:`consent.evidence` (``Evidence.export_to_path``
and the offline verifier :mod:`consent.evidence.verify`).

``export`` writes ``-o bundle.zip`` atomically, draws a progress bar on stderr when it is a
terminal and logs the export in the evidence log; ``verify`` needs no database and exits 0 when
the bundle is valid, 1 when not.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from consent.errors import PasserelleError
from consent.evidence import verify
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence, origin_for
from consent.storage import Database
from proxy.settings import Settings


def _instant(text: str) -> datetime:
    """A ``--from``/``--to`` value: an RFC 3339 instant, or a day (midnight UTC)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or RFC 3339 instant: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and total:
            filled = 30 * done // total
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} entries")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _audit_export(args: argparse.Namespace, settings: Settings) -> int:
    try:
        selection = Selection(args.tenant, args.consent, args.household, args.recipient,
                              args.start, args.end)
    except PasserelleError as exc:
        sys.stderr.write(f"passerelle audit export: {exc.detail}\n")
        return 2

    async def export() -> str:
        db = Database.from_url(settings.resolved_database_url)
        evidence = Evidence.open(db, settings.data_dir, origin=origin_for(settings.issuer))
        bar = _ProgressBar()
        try:
            result = await evidence.export_to_path(
                selection, args.output, actor=args.actor, progress=bar,
                include_documents=not args.no_documents)
        finally:
            bar.close()
            await evidence.aclose()
            await db.dispose()
        return (f"{args.output}: {result.entries} entries, {result.pruned} pruned, "
                f"{result.outside_consent} outside consent; manifest sha256 "
                f"{result.manifest_sha256}\n")

    try:
        sys.stderr.write(asyncio.run(export()))
    except PasserelleError as exc:
        sys.stderr.write(f"passerelle audit export: {exc.detail}\n")
        return 1
    return 0


def add_audit_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       parent: argparse.ArgumentParser,
                       settings_from: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``audit export`` and ``audit verify``."""
    audit = sub.add_parser("audit", help="export and verify proof bundles (auditors)")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    export = commands.add_parser("export", parents=[parent],
                                 help="write the proof bundle of a consent, household, "
                                      "recipient or period")
    export.add_argument("--consent", help="consent id")
    export.add_argument("--household", help="household id")
    export.add_argument("--recipient", help="recipient id")
    export.add_argument("--tenant", help="only this tenant's entries")
    export.add_argument("--from", dest="start", type=_instant, help="period start (included)")
    export.add_argument("--to", dest="end", type=_instant, help="period end (excluded)")
    export.add_argument("--actor", default=f"cli:{getpass.getuser()}",
                        help="who exports, as logged (default cli:<user>)")
    export.add_argument("--no-documents", action="store_true",
                        help="leave proof documents out (their hashes stay)")
    export.add_argument("-o", "--output", type=Path, required=True, help="bundle.zip to write")
    export.set_defaults(func=lambda args: _audit_export(args, settings_from(args)))
    check = commands.add_parser("verify", parents=[parent],
                                help="check a proof bundle offline; exit 0 if valid, 1 if not")
    verify.build_parser(check)
    check.set_defaults(func=verify.run)

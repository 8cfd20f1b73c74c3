"""``passerelle audit export|verify`` and ``passerelle auditor-token create``: the evidence
commands (issue 6; ``keys`` is :mod:`proxy.keys_cli`). Thin glue: the work is in
:mod:`consent.evidence` (``Evidence.export_to_path``, the offline verifier
:mod:`consent.evidence.verify`) and :mod:`consent.auditors`.

``export`` writes ``-o bundle.zip`` atomically, draws a progress bar on stderr when it is a
terminal and logs the export in the evidence log; with ``--checkpoint-size N`` the bundle also
carries the stored checkpoint of N entries (an anchor the auditor kept), and the export fails
(exit 1, one line) if the server holds none: that absence is itself suspicious
(docs/evidence-format.md §11). ``verify`` needs no database and exits 0 when
the bundle is valid under the keys it is given (``--trusted-keys``), 1 when it is forged or
tampered with, 3 when it is intact and shows an access outside consent, 4 when no trusted keys
were given, 2 on a usage error (docs/evidence-format.md §10.1). ``auditor-token create``
prints a token for an auditor account once (its hash is stored; the minting is logged).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from consent.auditors import issue_auditor_token
from consent.errors import PasserelleError
from consent.evidence import verify
from consent.evidence.bundle_checkpoints import MAX_REQUESTED_CHECKPOINTS, checked_sizes
from consent.evidence.events import AdminEvent, Refs
from consent.evidence.secrets import Keyring
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence, origin_for
from consent.models import DEFAULT_TENANT
from consent.numbers import whole_number
from consent.storage import Database
from proxy.settings import Settings


def _size(text: str) -> int:
    """A ``--checkpoint-size`` value: a tree size (a whole number)."""
    value = whole_number(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"not a tree size (a whole number): {text!r}")
    return value


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
        sizes = checked_sizes(args.checkpoint_sizes, "--checkpoint-size")
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
                include_documents=not args.no_documents, checkpoint_sizes=sizes)
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


#: What a command prints, or what it prints and its exit status.
Outcome = str | tuple[str, int]


def evidence_run(settings: Settings, work: Callable[[Database, Evidence], Awaitable[Outcome]],
                 command: str, *, keyring: Keyring | None = None) -> int:
    """Run ``work`` against the instance's evidence (sealed with ``keyring``, by default the
    instance's); print its result, or the error (exit 1)."""
    async def run() -> Outcome:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database.from_url(settings.resolved_database_url)
        evidence = Evidence.open(db, settings.data_dir, origin=origin_for(settings.issuer),
                                 keyring=keyring)
        try:
            return await work(db, evidence)
        finally:
            await evidence.aclose()
            await db.dispose()

    try:
        outcome = asyncio.run(run())
    except PasserelleError as exc:
        sys.stderr.write(f"passerelle {command}: {exc.detail}\n")
        return 1
    text, status = outcome if isinstance(outcome, tuple) else (outcome, 0)
    print(text)
    return status


def _auditor_token_create(args: argparse.Namespace, settings: Settings) -> int:
    async def create(db: Database, evidence: Evidence) -> str:
        now = evidence.clock.now()
        expires = None if args.days is None else now + timedelta(days=args.days)
        async with db.session() as session:
            row, raw = await issue_auditor_token(
                session, username=args.account, tenant_id=args.tenant,
                all_tenants=args.all_tenants, now=now, expires_at=expires)
            await evidence.admin_in(await session.connection(), AdminEvent(
                at=now, actor=args.actor, action="auditor-token.create",
                refs=Refs(args.tenant), target=args.account,
                details={"token_id": row.id, "scope": row.tenant_scope or "all tenants",
                         "expires_at": "never" if expires is None else expires.isoformat()}))
        if args.json:
            return json.dumps({"auditor_token": raw, "scope": row.tenant_scope})
        return (f"{raw}\n(scope: {row.tenant_scope or 'all tenants'}; shown this once, only "
                "its hash is kept)")

    return evidence_run(settings, create, "auditor-token create")


def add_audit_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       parent: argparse.ArgumentParser,
                       settings_from: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``audit export``, ``audit verify`` and ``auditor-token create``."""
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
    export.add_argument("--checkpoint-size", dest="checkpoint_sizes", type=_size,
                        action="append", default=[], metavar="N",
                        help="also include the server's stored checkpoint of N entries, with "
                             "its consistency proof (repeatable, at most "
                             f"{MAX_REQUESTED_CHECKPOINTS}): the anchors you kept, for "
                             "'audit verify --checkpoint'; fails if none is stored")
    export.add_argument("-o", "--output", type=Path, required=True, help="bundle.zip to write")
    export.set_defaults(func=lambda args: _audit_export(args, settings_from(args)))
    check = commands.add_parser("verify", parents=[parent],
                                help="check a proof bundle offline; exit 0 if valid, 1 if not")
    verify.build_parser(check)
    check.set_defaults(func=verify.run)

    operator = f"cli:{getpass.getuser()}"
    tokens = sub.add_parser("auditor-token", help="bearer tokens of the audit API")
    tokens_sub = tokens.add_subparsers(dest="auditor_token_command", required=True)
    mint = tokens_sub.add_parser("create", parents=[parent],
                                 help="print a new token for an auditor account (shown once)")
    mint.add_argument("--account", required=True, help="username of an account with the "
                                                       "auditor role")
    mint.add_argument("--tenant", default=DEFAULT_TENANT, help="the account's tenant, and the "
                                                               "token's scope")
    mint.add_argument("--all-tenants", action="store_true",
                      help="a regulator's token: sees every tenant")
    mint.add_argument("--days", type=int, default=None, help="expire after this many days")
    mint.add_argument("--actor", default=operator, help="who mints it, as logged")
    mint.add_argument("--json", action="store_true")
    mint.set_defaults(func=lambda args: _auditor_token_create(args, settings_from(args)))


"""The ``passerelle`` command.

Every subcommand takes the same ``--data-dir`` / ``--database-url`` options (a parent parser),
so an operator points all of them at one instance the same way. Subcommands are registered by
small ``add_*_commands`` functions, one per area.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from proxy.settings import Settings, default_data_dir

Command = Callable[[argparse.Namespace], int]


def instance_options() -> argparse.ArgumentParser:
    """The options every subcommand shares."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--data-dir", type=Path, default=None,
                        help="instance directory (default: $PASSERELLE_DATA_DIR or ./.passerelle)")
    parent.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: SQLite file in the data dir; "
                             "postgresql://... in production)")
    return parent


def settings_from(args: argparse.Namespace, **overrides: object) -> Settings:
    """Settings from the shared options plus ``overrides``."""
    data_dir = args.data_dir if args.data_dir is not None else default_data_dir()
    return Settings(data_dir=data_dir, database_url=args.database_url, **overrides)  # type: ignore[arg-type]


def _serve(args: argparse.Namespace) -> int:
    from proxy.app import create_app

    settings = settings_from(args, host=args.host, port=args.port, demo=args.demo,
                             public_url=args.public_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    web.run_app(create_app(settings), host=settings.host, port=settings.port,
                print=lambda msg: print(f"Passerelle at {settings.issuer} ({msg.strip()})"))
    return 0


def add_serve_command(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                      parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[parent], help="run the Passerelle server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--public-url", default=None,
                   help="externally visible base URL (OAuth issuer); default http://HOST:PORT")
    p.add_argument("--demo", action="store_true",
                   help="seed a deterministic demo into an empty database and use the built-in "
                        "DSO simulator")
    p.set_defaults(func=_serve)


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


def _audit_export(args: argparse.Namespace) -> int:
    from consent.errors import PasserelleError
    from consent.evidence.selection import Selection
    from consent.evidence.service import Evidence, origin_for
    from consent.storage import Database

    settings = settings_from(args)
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
                       parent: argparse.ArgumentParser) -> None:
    from consent.evidence import verify

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
    export.set_defaults(func=_audit_export)
    check = commands.add_parser("verify", parents=[parent],
                                help="check a proof bundle offline; exit 0 if valid, 1 if not")
    verify.build_parser(check)
    check.set_defaults(func=verify.run)


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser."""
    parser = argparse.ArgumentParser(prog="passerelle", description=__doc__.splitlines()[0])
    parent = instance_options()
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_command(sub, parent)
    add_audit_commands(sub, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``passerelle`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

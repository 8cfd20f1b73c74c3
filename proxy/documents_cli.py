"""``passerelle documents import-files --from DIR``: the one-shot move of proof documents that
earlier releases kept as files (the shared ``documents`` volume) into the database.

Thin glue around :func:`consent.evidence.documents_import.import_files`. It needs the
instance's database and evidence keys (``PASSERELLE_EVIDENCE_KEYS(_FILE)`` or the data
directory's key file; it never makes a new key, which would open nothing). It prints one line
per refused or skipped file and the counts, logs the import in the evidence log when it imported
anything, and exits 0 when no file was refused, 1 otherwise (a refused file is reported on every
run until dealt with). Running it again writes nothing: documents already in the database are
left alone.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from consent.errors import PasserelleError
from consent.evidence.blobs_db import DatabaseBlobStore
from consent.evidence.documents_import import ImportReport, import_files
from consent.evidence.events import AdminEvent
from consent.evidence.secrets import Keyring
from consent.evidence.service import KEYRING_FILE, Evidence, origin_for
from consent.storage import Database
from proxy.settings import Settings


def _import_files(args: argparse.Namespace, settings: Settings) -> int:
    root: Path = args.source
    if not root.is_dir():
        sys.stderr.write(f"passerelle documents import-files: {root} is not a directory\n")
        return 2

    async def run() -> ImportReport:
        keyring = Keyring.from_environment(settings.data_dir / KEYRING_FILE, create=False)
        db = Database.from_url(settings.resolved_database_url)
        evidence = Evidence.open(db, settings.data_dir, origin=origin_for(settings.issuer),
                                 keyring=keyring)
        try:
            report = await import_files(root, db, DatabaseBlobStore(db, keyring))
            if report.imported:
                await evidence.admin(AdminEvent(
                    at=evidence.clock.now(), actor=args.actor, action="documents.import-files",
                    target=str(root), details={
                        "imported": len(report.imported), "present": len(report.present),
                        "refused": len(report.refused), "skipped": len(report.skipped)}))
            return report
        finally:
            await evidence.aclose()
            await db.dispose()

    try:
        report = asyncio.run(run())
    except PasserelleError as exc:
        sys.stderr.write(f"passerelle documents import-files: {exc.detail}\n")
        return 1
    print(report.render())
    return 1 if report.refused else 0


def add_documents_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                           parent: argparse.ArgumentParser,
                           settings_from: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``documents import-files``."""
    documents = sub.add_parser("documents", help="proof documents (R2) kept in the database")
    commands = documents.add_subparsers(dest="documents_command", required=True)
    move = commands.add_parser(
        "import-files", parents=[parent],
        help="move document files of an earlier release into the database (idempotent)")
    move.add_argument("--from", dest="source", type=Path, required=True, metavar="DIR",
                      help="the old documents directory (DATA_DIR/documents)")
    move.add_argument("--actor", default=f"cli:{getpass.getuser()}",
                      help="who imports, as logged (default cli:<user>)")
    move.set_defaults(func=lambda args: _import_files(args, settings_from(args)))

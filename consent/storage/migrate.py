"""Run Alembic programmatically, on a connection of the async engine (SQLite or PostgreSQL).

:func:`upgrade` is what :meth:`~consent.storage.Database.migrate` runs inside ``run_sync``;
:func:`differences` compares a migrated database with the models (empty when they match);
``python -m consent.storage.migrate revision -m MSG --database-url URL`` writes a new revision
by autogenerate (developers only).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from consent.storage.schema import target_metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at our migrations, optionally bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision id in the migrations directory."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade the database behind ``connection`` to ``revision`` (sync; use ``run_sync``)."""
    command.upgrade(alembic_config(connection), revision)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or ``None`` if never migrated."""
    return MigrationContext.configure(connection).get_current_revision()


def differences(connection: Connection) -> list[Any]:
    """What Alembic would change to make the database match the models (``[]`` = match)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diff: list[Any] = compare_metadata(context, target_metadata())
    return diff


def _revision(connection: Connection, message: str) -> None:
    command.revision(alembic_config(connection), message=message, autogenerate=True)


async def _make_revision(url: str, message: str) -> None:
    from consent.storage.database import Database

    db = Database.from_url(url)
    try:
        await db.migrate()
        async with db.engine.begin() as conn:
            await conn.run_sync(_revision, message)
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> None:
    """``python -m consent.storage.migrate revision -m MESSAGE --database-url URL``."""
    parser = argparse.ArgumentParser(prog="python -m consent.storage.migrate")
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="autogenerate a revision against a scratch database")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--database-url", default="sqlite:///migration-scratch.db")
    args = parser.parse_args(argv)
    asyncio.run(_make_revision(args.database_url, args.message))


if __name__ == "__main__":  # pragma: no cover
    main()

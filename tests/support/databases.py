"""Fresh databases for tests, on SQLite and PostgreSQL, fast.

Each backend migrates one *template* once per session; every test then gets its own copy:
a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL. Tests that exercise the
migrations themselves ask for an empty database instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from consent.storage import Database

T = TypeVar("T")


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even if a loop is running in this thread
    (fixtures may be set up from inside pytest-asyncio's loop)."""

    async def main() -> T:
        return await factory()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def _migrate(url: str) -> None:
    db = Database.from_url(url)
    try:
        await db.migrate()
    finally:
        await db.dispose()


class DatabaseFactory(Protocol):
    """Hands out fresh databases of one backend."""

    name: str

    def create(self, *, migrated: bool = True, fresh: bool = False) -> str:
        """The URL of a new database, migrated to head unless ``migrated`` is False.
        ``fresh`` promises a database nobody used before (for tests that alter the schema)."""
        ...

    def drop(self, url: str) -> None:
        """Delete a database made by :meth:`create`."""
        ...


class SqliteFactory:
    """SQLite files in a directory; copies of one migrated template."""

    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.template = directory / "template.db"
        run_async(lambda: _migrate(self._url(self.template)))

    @staticmethod
    def _url(path: Path) -> str:
        return f"sqlite+aiosqlite:///{path}"

    def create(self, *, migrated: bool = True, fresh: bool = False) -> str:
        path = self.directory / f"{uuid.uuid4().hex}.db"
        if migrated:
            shutil.copyfile(self.template, path)
        return self._url(path)

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


class PostgresFactory:
    """Databases on one PostgreSQL server, cloned from a migrated template database.

    ``CREATE DATABASE ... TEMPLATE`` costs about 0.3 s, so migrated databases are recycled:
    :meth:`drop` empties a recycled one (``TRUNCATE`` every table, then re-insert the rows the
    migrations themselves wrote, read once from the template, and put back the template's
    schema revision, which a test may have moved) and keeps it for the next test.
    A test that changes the schema asks for ``create(fresh=True)``: that one is really dropped.
    """

    name = "postgresql"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.template = f"passerelle_tpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._idle: list[str] = []
        self._recycled: set[str] = set()
        run_async(lambda: self._execute(self.admin_url.database or "postgres",
                                        f'CREATE DATABASE "{self.template}"'))
        run_async(lambda: _migrate(self._url(self.template)))
        self._tables, self._seed_rows = run_async(self._read_template)
        self._revision = run_async(lambda: self._scalar(
            self.template, "SELECT version_num FROM alembic_version"))

    def _url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    async def _connect(self, database: str) -> asyncpg.Connection:
        url = self.admin_url
        return await asyncpg.connect(host=url.host, port=url.port, user=url.username,
                                     password=url.password, database=database)

    async def _execute(self, database: str, sql: str) -> None:
        conn = await self._connect(database)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def _scalar(self, database: str, sql: str) -> str:
        conn = await self._connect(database)
        try:
            value: str = await conn.fetchval(sql)
            return value
        finally:
            await conn.close()

    async def _read_template(self) -> tuple[list[str], dict[str, list[asyncpg.Record]]]:
        conn = await self._connect(self.template)
        try:
            # alembic_version too: a test that stamps another revision (a schema "ahead of
            # the code") must not hand it to the next test that migrates.
            tables = [r["tablename"] for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "ORDER BY tablename")]
            seed = {}
            for table in tables:  # names come from the catalog, not from input
                if rows := await conn.fetch(f'SELECT * FROM "{table}"'):  # noqa: S608
                    seed[table] = rows
            return tables, seed
        finally:
            await conn.close()

    async def _reset(self, database: str) -> None:
        conn = await self._connect(database)
        try:
            async with conn.transaction():
                names = ", ".join(f'"{t}"' for t in [*self._tables, "alembic_version"])
                await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
                for table, rows in self._seed_rows.items():
                    await conn.copy_records_to_table(table, records=rows,
                                                     columns=list(rows[0].keys()))
                # A test may have moved the recorded revision (readiness tests do).
                await conn.execute("UPDATE alembic_version SET version_num = $1",
                                   self._revision)
        finally:
            await conn.close()

    def create(self, *, migrated: bool = True, fresh: bool = False) -> str:
        if migrated and not fresh and self._idle:
            return self._idle.pop()
        name = f"passerelle_t_{uuid.uuid4().hex[:16]}"
        template = f' TEMPLATE "{self.template}"' if migrated else ""
        run_async(lambda: self._execute(self.admin_url.database or "postgres",
                                        f'CREATE DATABASE "{name}"{template}'))
        if migrated and not fresh:
            self._recycled.add(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database or ""
        if name in self._recycled:
            run_async(lambda: self._reset(name))
            self._idle.append(url)
            return
        run_async(lambda: self._execute(self.admin_url.database or "postgres",
                                        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        """Drop every database this factory made (the cluster itself may be shared)."""
        for name in [*self._recycled, self.template]:
            self._recycled.discard(name)
            self.drop(self._url(name))

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

    def create(self, *, migrated: bool = True) -> str:
        """The URL of a new database, migrated to head unless ``migrated`` is False."""
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

    def create(self, *, migrated: bool = True) -> str:
        path = self.directory / f"{uuid.uuid4().hex}.db"
        if migrated:
            shutil.copyfile(self.template, path)
        return self._url(path)

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


class PostgresFactory:
    """Databases on one PostgreSQL server, cloned from a migrated template database."""

    name = "postgresql"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.template = f"passerelle_tpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        run_async(lambda: self._execute(f'CREATE DATABASE "{self.template}"'))
        run_async(lambda: _migrate(self._url(self.template)))

    def _url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    async def _execute(self, sql: str) -> None:
        url = self.admin_url
        conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username,
                                     password=url.password, database=url.database)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def create(self, *, migrated: bool = True) -> str:
        name = f"passerelle_t_{uuid.uuid4().hex[:16]}"
        template = f' TEMPLATE "{self.template}"' if migrated else ""
        run_async(lambda: self._execute(f'CREATE DATABASE "{name}"{template}'))
        return self._url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        run_async(lambda: self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        """Drop the template (the cluster itself may be shared)."""
        self.drop(self._url(self.template))

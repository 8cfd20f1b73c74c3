"""Fixtures of the evidence tests: databases holding the evidence tables, on SQLite and
PostgreSQL (the shared session server of tests/conftest.py), a frozen clock, a keyring.

The evidence tables are made with ``SQLModel.metadata.create_all``, restricted to them: until a
migration creates them, the shared migrated ``db`` fixture does not have them. Once it does,
``database_url``/``db`` below can give way to the shared fixtures.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from consent.clock import FrozenClock
from consent.evidence.secrets import Keyring
from consent.evidence.tables import EVIDENCE_TABLES
from consent.storage.database import Database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([bytes(range(32))])


async def _admin(url: str, sql: str) -> None:
    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                                 database=u.database)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_tables(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all,
                            tables=[t.__table__ for t in EVIDENCE_TABLES])  # type: ignore[attr-defined]


@asynccontextmanager
async def fresh_database_url(backend: str, request: pytest.FixtureRequest,
                             tmp_path: Path) -> AsyncIterator[str]:
    """URL of a fresh database of ``backend`` holding the evidence tables, dropped after."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / f'evidence-{uuid.uuid4().hex[:8]}.db'}"
        db = Database.from_url(url)
        await create_tables(db)
        await db.dispose()
        yield url
        return
    admin: str = request.getfixturevalue("postgres_admin_url")
    name = f"evidence_{uuid.uuid4().hex[:12]}"
    await _admin(admin, f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
    rendered = url.render_as_string(hide_password=False)
    db = Database.from_url(rendered)
    await create_tables(db)
    await db.dispose()
    try:
        yield rendered
    finally:
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a fresh database holding the evidence tables."""
    async with fresh_database_url(request.param, request, tmp_path) as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite only: for tests about files and bundles, where the backend does not matter."""
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'evidence.db'}")
    await create_tables(database)
    yield database
    await database.dispose()


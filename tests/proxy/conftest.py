"""Fixtures of the data-proxy tests: a running world on SQLite (and on PostgreSQL on demand)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, Type

from consent import accounts
from consent.storage import Database
from tests.proxy.world import World, build_world
from tests.support.databases import SqliteFactory

#: Starts a world with :func:`build_world`'s options (``async with world_of(...) as w``).
WorldOf = Callable[..., AbstractAsyncContextManager[World]]


@pytest.fixture
def world_of(sqlite_factory: SqliteFactory, tmp_path: Path) -> WorldOf:
    """A world of tests/proxy/world.py on a fresh SQLite database, with options (an adapter
    class, cache off, rate limits), closed and dropped on leaving."""
    @contextlib.asynccontextmanager
    async def start(**options: Any) -> AsyncIterator[World]:
        url = sqlite_factory.create()
        w = await build_world(url, tmp_path / "instance", **options)
        try:
            yield w
        finally:
            await w.client.close()
            sqlite_factory.drop(url)

    return start


@pytest.fixture
async def world(world_of: WorldOf) -> AsyncIterator[World]:
    """The world of tests/proxy/world.py on a fresh SQLite database, cache on."""
    async with world_of() as w:
        yield w


@pytest.fixture(autouse=True)
def cheap_argon2() -> Iterator[None]:
    """Tests only: argon2id with minimal cost, restored after each test (production keeps the
    library defaults)."""
    accounts.configure(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID))
    yield
    accounts.configure(PasswordHasher(type=Type.ID))


@pytest.fixture
async def cache_db(sqlite_factory: SqliteFactory) -> AsyncIterator[Database]:
    """A migrated SQLite database for the day cache, dropped afterwards."""
    url = sqlite_factory.create()
    db = Database.from_url(url)
    await db.migrate()
    try:
        yield db
    finally:
        await db.dispose()
        sqlite_factory.drop(url)

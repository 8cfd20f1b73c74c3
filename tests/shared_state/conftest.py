"""Each shared-state protocol, built in memory and on PostgreSQL, for one contract suite.

``kind`` is ``memory`` or ``postgresql``; ``replica`` builds a second, independent handle on the
same state (a second :class:`Database` on the same PostgreSQL database: what another replica
holds; in memory, the same objects, since one process is all there is).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from consent.clock import FrozenClock
from consent.storage import Database
from tests.support.databases import PostgresFactory

KINDS = ["memory", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Seconds:
    """A settable clock in seconds (wall clock for the database side)."""

    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    """Where the state lives, and handles on it for as many replicas as a test wants."""

    kind: str
    clock: FrozenClock
    seconds: Seconds
    url: str | None = None
    databases: list[Database] = field(default_factory=list)

    def database(self) -> Database:
        """A new handle on the shared database (one per simulated replica)."""
        assert self.url is not None
        db = Database.from_url(self.url)
        self.databases.append(db)
        return db


@pytest.fixture(params=KINDS)
async def backend(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield Backend("memory", clock, Seconds())
        return
    factory: PostgresFactory = request.getfixturevalue("postgres_factory")
    url = factory.create()
    backend = Backend("postgresql", clock, Seconds(), url)
    try:
        yield backend
    finally:
        for db in backend.databases:
            await db.dispose()
        factory.drop(url)


Make = Callable[[], object]
WINDOW = timedelta(minutes=15)

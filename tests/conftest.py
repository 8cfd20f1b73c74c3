"""Shared fixtures: a frozen clock and fresh databases on both backends.

``db`` (and ``database_url``) are parametrized over ``sqlite`` and ``postgresql``, so a storage
test written once runs on both. PostgreSQL comes from ``PASSERELLE_TEST_POSTGRES_URL`` or from
a throwaway cluster started once per session (tests/support/postgres.py); when PostgreSQL is
not installed those tests skip, except with ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type
from hypothesis import settings

from consent.clock import FrozenClock
from consent.storage import Database
from tests.support.databases import DatabaseFactory, PostgresFactory, SqliteFactory
from tests.support.postgres import Cluster, admin_url_from_env, locate_binaries

# Hypothesis's per-example deadline is a timing assertion: on a shared 2-core machine it fails
# for load, not for a bug. Speed is measured in bench/, never in tests.
settings.register_profile("passerelle", deadline=None)
settings.load_profile("passerelle")

# The fault tests (tests/faults) break a whole local topology and take minutes: collected only
# when asked with PASSERELLE_FAULT_TESTS=1 (.ci/run does, as a separate step).
collect_ignore = [] if os.environ.get("PASSERELLE_FAULT_TESTS") == "1" else ["faults"]

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

#: The instant tests start at, unless they move the clock.
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen at :data:`T0`."""
    return FrozenClock(T0)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """Admin URL of the PostgreSQL server for this session (started on first use)."""
    url = admin_url_from_env()
    if url is not None:
        yield url
        return
    bindir = locate_binaries()
    if bindir is None:
        message = ("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb) and "
                   "PASSERELLE_TEST_POSTGRES_URL is not set")
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; with CI=true PostgreSQL tests must run", pytrace=False)
        pytest.skip(message)
    cluster = Cluster(bindir)
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_factory(tmp_path_factory: pytest.TempPathFactory) -> SqliteFactory:
    """Fresh SQLite databases, copied from a migrated template."""
    return SqliteFactory(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_factory(postgres_admin_url: str) -> Iterator[PostgresFactory]:
    """Fresh PostgreSQL databases, cloned from a migrated template."""
    factory = PostgresFactory(postgres_admin_url)
    yield factory
    factory.close()


@pytest.fixture(params=BACKENDS)
def database_factory(request: pytest.FixtureRequest) -> DatabaseFactory:
    """The factory of the backend this test instance runs on."""
    name = "postgres" if request.param == "postgresql" else request.param
    factory: DatabaseFactory = request.getfixturevalue(f"{name}_factory")
    return factory


@pytest.fixture
def database_url(database_factory: DatabaseFactory) -> Iterator[str]:
    """URL of a fresh database migrated to head, dropped after the test."""
    url = database_factory.create()
    yield url
    database_factory.drop(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A :class:`Database` on a fresh migrated database (both backends)."""
    database = Database.from_url(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def pg(postgres_factory: PostgresFactory) -> AsyncIterator[Database]:
    """A :class:`Database` on a fresh migrated PostgreSQL database (PostgreSQL-only tests)."""
    url = postgres_factory.create()
    database = Database.from_url(url)
    yield database
    await database.dispose()
    postgres_factory.drop(url)


@pytest.fixture
def fast_password_hashing() -> Iterator[None]:
    """Cheap argon2id parameters for tests that create many accounts (the demo seed)."""
    from consent import accounts

    previous = accounts._hasher
    accounts.configure(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1,
                                      type=Type.ID))
    yield
    accounts.configure(previous)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty instance directory."""
    path = tmp_path / "instance"
    path.mkdir()
    return path

"""Fixtures of the portal tests: a running instance (tests/portal/world.py) and a browser."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from consent import accounts
from consent.clock import FrozenClock
from tests.oauth.conftest import Browser
from tests.portal.world import PASSWORD, Portal, start
from tests.support.databases import SqliteFactory
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, serve


@pytest.fixture(autouse=True, scope="session")
def cheap_argon2() -> Iterator[None]:
    """Tests only: argon2id with minimal cost (production keeps the library defaults)."""
    accounts.configure(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID))
    yield
    accounts.configure(PasswordHasher(type=Type.ID))


@pytest.fixture
async def portal(sqlite_factory: SqliteFactory, tmp_path: Path) -> AsyncIterator[Portal]:
    """The portal world on a fresh SQLite database."""
    url = sqlite_factory.create()
    async for running in start(url, tmp_path / "instance"):
        yield running
    sqlite_factory.drop(url)


@pytest.fixture
async def alice(portal: Portal) -> AsyncIterator[Browser]:
    """A browser signed in as Alice."""
    browser = Browser(portal.url)
    response = await browser.login("alice", PASSWORD, next_path="/account")
    assert response.status == 303, await response.text()
    yield browser
    await browser.close()


def _timestamps(clock: FrozenClock) -> Callable[[], float]:
    return lambda: clock.now().timestamp()


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    async for running in serve():
        yield running


async def _federated(url: str, data_dir: Path, provider: Provider) -> AsyncIterator[Portal]:
    async for running in start(url, data_dir, oidc_discovery_url=provider.discovery_url,
                               oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
                               oidc_label="FranceConnect (test)"):
        provider.now = _timestamps(running.clock)  # the provider shares the frozen clock
        yield running


@pytest.fixture
async def federated(sqlite_factory: SqliteFactory, tmp_path: Path,
                    provider: Provider) -> AsyncIterator[Portal]:
    """The portal world with the provider configured by its discovery URL."""
    url = sqlite_factory.create()
    async for running in _federated(url, tmp_path / "instance", provider):
        yield running
    sqlite_factory.drop(url)


@pytest.fixture
async def federated_any(database_url: str, tmp_path: Path,
                        provider: Provider) -> AsyncIterator[Portal]:
    """:func:`federated` on each backend (SQLite and PostgreSQL)."""
    async for running in _federated(database_url, tmp_path / "instance", provider):
        yield running

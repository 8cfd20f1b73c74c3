"""What only the PostgreSQL side promises: racing migrations, nothing personal or secret in
clear in the shared tables, and replicas sharing one upstream token (one renewal at a time)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web

from adapters.inhouse.client import InhouseClient
from adapters.simulator import Simulator
from adapters.tokens import ClientCredentials
from consent.clock import FrozenClock
from consent.shared_state import CachedToken
from consent.shared_state.attempts import DatabaseAttempts
from consent.shared_state.buckets import DatabaseBuckets
from consent.shared_state.tokens import DatabaseTokens
from consent.storage import Database, migrate
from tests.conftest import T0
from tests.contract.servers import CLIENT_ID, CLIENT_SECRET, serve
from tests.support.databases import PostgresFactory

pytestmark = pytest.mark.postgres


async def test_replicas_migrating_at_once_wait_for_each_other(
        postgres_factory: PostgresFactory) -> None:
    url = postgres_factory.create(migrated=False)
    replicas = [Database.from_url(url) for _ in range(3)]
    try:
        revisions = await asyncio.gather(*(db.migrate() for db in replicas))
    finally:
        for db in replicas:
            await db.dispose()
        postgres_factory.drop(url)

    assert revisions == [migrate.head_revision()] * 3


async def test_throttle_rows_hold_digests_not_usernames(pg: Database,
                                                       clock: FrozenClock) -> None:
    counter = DatabaseAttempts(pg, "login-account", 5, timedelta(minutes=15), clock)
    await counter.record("alice@example.org")

    async with pg.engine.connect() as conn:
        keys = (await conn.execute(sa.text("SELECT key FROM throttle_attempt"))).scalars().all()

    assert len(keys) == 1
    assert len(keys[0]) == 64
    assert "alice" not in keys[0]


async def test_a_stored_token_is_sealed_and_bound_to_the_instance_secret(pg: Database) -> None:
    store = DatabaseTokens(pg, bytes(32))
    await store.put("k", CachedToken("the-application-token", T0 + timedelta(hours=1)))

    async with pg.engine.connect() as conn:
        sealed = (await conn.execute(sa.text("SELECT sealed FROM upstream_token"))).scalar_one()

    assert b"the-application-token" not in bytes(sealed)
    assert await DatabaseTokens(pg, bytes([1] * 32)).get("k") is None  # another instance's key


async def test_replicas_share_one_application_token(pg: Database, clock: FrozenClock) -> None:
    url = pg.engine.url.render_as_string(hide_password=False)
    handles = [Database.from_url(url) for _ in range(2)]
    try:
        async for base in serve(Simulator(clock, seed=7)):
            async with aiohttp.ClientSession() as session:
                replicas = [InhouseClient(session, base, CLIENT_ID, CLIENT_SECRET, clock=clock,
                                          tokens=DatabaseTokens(db, bytes(32)))
                            for db in handles]
                for replica in replicas:
                    await replica.capabilities()
                used = [await replica.token.bearer() for replica in replicas]
                fetched = [replica.token.fetched for replica in replicas]
    finally:
        for db in handles:
            await db.dispose()

    assert used[0] == used[1]
    assert fetched == [1, 0]  # the second replica read the first one's token, fetched none


async def token_endpoint(issued: list[str]) -> AsyncIterator[str]:
    """A DSO token endpoint that takes a DSO's usual 200 ms and records what it issues."""
    async def token(_request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        issued.append(f"t{len(issued)}")
        return web.json_response({"access_token": issued[-1], "token_type": "Bearer",
                                  "expires_in": 3600})

    app = web.Application()
    app.router.add_post("/token", token)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/token"
    finally:
        await runner.cleanup()


async def test_replicas_needing_a_token_at_once_fetch_one(pg: Database,
                                                         clock: FrozenClock) -> None:
    """Each replica's lock serialised its own callers only: replicas whose store read fell
    within the endpoint's round trip each fetched a token (a DSO allowing few live: 401s)."""
    url = pg.engine.url.render_as_string(hide_password=False)
    handles = [Database.from_url(url) for _ in range(3)]
    issued: list[str] = []
    try:
        async for endpoint in token_endpoint(issued):
            async with aiohttp.ClientSession() as session:
                replicas = [ClientCredentials(session, endpoint, "app", "secret", clock=clock,
                                              cache=DatabaseTokens(db, bytes(32)))
                            for db in handles]
                used = await asyncio.gather(*(r.bearer() for r in replicas))
    finally:
        for db in handles:
            await db.dispose()

    assert issued == ["t0"]
    assert used == ["t0"] * 3


async def test_buckets_full_again_are_dropped_and_come_back_full(pg: Database) -> None:
    """The address limit keeps a row per address that spent a token; a row refilled to its
    burst is deleted (a missing row is a full bucket), one still refilling is kept."""
    now = [1_000_000.0]
    buckets = DatabaseBuckets(pg, "unauthenticated", 1.0, 2, seconds=lambda: now[0])
    assert await buckets.take("203.0.113.7") == 0.0
    assert await buckets.take("203.0.113.7") == 0.0
    now[0] += 1.5  # 1.5 tokens back: still refilling
    assert await buckets.drop_full() == 0
    now[0] += 1.0  # full again
    assert await buckets.drop_full() == 1
    assert [await buckets.take("203.0.113.7") for _ in range(3)][:2] == [0.0, 0.0]

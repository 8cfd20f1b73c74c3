"""The hot path remembers token and consent rows; no write is ever answered from stale memory.

Each test warms the memory with a served request (and checks it was served from memory the
second time, so the denial that follows is the invalidation's doing, not a miss), writes, and
expects the very next request to be refused. Across replicas: two application instances on
one PostgreSQL database, a withdrawal on one is refused by the other within a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import encode_basic_auth
from aiohttp.test_utils import TestClient, TestServer

from consent.client_secrets import hash_client_secret, new_client_secret
from consent.identifiers import Source
from consent.lifecycle import ActorRole
from consent.models import Recipient, RecipientState
from consent.purposes import Purpose
from consent.services.base import Actor
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService
from consent.tokens import digest, revoke_token
from consent.vocabulary import Dataset, Resolution
from proxy.app import create_app
from proxy.keys import (
    adapters_key,
    bearer_tokens_key,
    data_service_key,
    token_store_key,
)
from proxy.settings import Settings
from tests.proxy.world import COACH_UNTIL, PRM, World, build_world
from tests.support.databases import PostgresFactory
from tests.support.replicas import share_evidence_keys

WEEK = (date(2026, 11, 1), date(2026, 11, 8))
DSO = Actor(ActorRole.UPSTREAM)  # the DSO suspends and resumes (lifecycle rules)


def token_hits(world: World) -> int:
    return world.client.app[bearer_tokens_key].cache.hits


def facts_hits(world: World) -> int:
    return world.client.app[data_service_key].facts.cache.hits


async def served_from_memory(world: World, token: str) -> None:
    """Two served requests, the second from memory."""
    for _ in range(2):
        status, body, _ = await world.series(token, "daily_consumption", *WEEK)
        assert status == 200, body
    assert token_hits(world) > 0
    assert facts_hits(world) > 0


async def test_a_revoked_token_is_refused_from_the_next_request(world: World) -> None:
    token = await world.token("dash")
    await served_from_memory(world, token)
    async with world.db.session() as session:
        row = (await session.exec(sa.text("SELECT id FROM oauth_token WHERE token_hash = :h")
                                  .bindparams(h=digest(token)))).one()  # type: ignore[call-overload]
        await revoke_token(session, row.id, world.clock.now())
    status, _, headers = await world.series(token, "daily_consumption", *WEEK)
    assert status == 401
    assert "invalid_token" in headers["WWW-Authenticate"]


async def test_a_suspended_app_is_refused_from_the_next_request(world: World) -> None:
    token = await world.token("dash")
    await served_from_memory(world, token)
    async with world.db.session() as session:
        await session.exec(sa.update(Recipient).values(  # type: ignore[call-overload]
            state=RecipientState.SUSPENDED))
    status, _, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == 401


async def client_credentials(world: World, app: str) -> int:
    """The status of a client-credentials token request by ``app`` (HTTP Basic)."""
    client_id, secret = world.credentials[app]
    async with world.client.post("/oauth2/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": encode_basic_auth(client_id,
                                                                             secret)}) as r:
        return r.status


def client_hits(world: World) -> int:
    return world.client.app[token_store_key].clients.cache.hits


async def test_a_suspended_client_gets_no_token_from_the_next_request(world: World) -> None:
    assert [await client_credentials(world, "dash") for _ in range(2)] == [200, 200]
    assert client_hits(world) > 0  # the second request read the client from memory
    async with world.db.session() as session:
        await session.exec(sa.update(Recipient).values(  # type: ignore[call-overload]
            state=RecipientState.SUSPENDED))
    assert await client_credentials(world, "dash") == 401


async def test_a_changed_secret_is_required_from_the_next_request(world: World) -> None:
    assert [await client_credentials(world, "dash") for _ in range(2)] == [200, 200]
    client_id, _old = world.credentials["dash"]
    new = new_client_secret()
    async with world.db.session() as session:
        await session.exec(sa.update(Recipient)  # type: ignore[call-overload]
                           .where(Recipient.client_id == client_id)
                           .values(client_secret_hash=hash_client_secret(new)))
    assert await client_credentials(world, "dash") == 401  # the old secret
    world.credentials["dash"] = (client_id, new)
    assert await client_credentials(world, "dash") == 200


@pytest.mark.parametrize("bound", [False, True], ids=["app-wide", "consent-bound"])
async def test_a_consent_version_bump_is_seen_at_once(world: World, bound: bool) -> None:
    token = await world.token("dash", bound=bound)
    await served_from_memory(world, token)
    service = ConsentService(world.db, world.clock)
    await service.suspend(DSO, world.consents["dash"])
    status, _, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == (401 if bound else 403)
    await service.resume(DSO, world.consents["dash"])
    await served_from_memory(world, token)


async def test_time_is_decided_per_request_and_a_renewal_is_seen_at_once(world: World) -> None:
    token = await world.token("coach")
    await served_from_memory(world, token)
    world.clock.set(COACH_UNTIL)  # the expiry instant, decided from the rows in memory
    status, body, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == 403
    assert body["rule"] == "R6 consent active"
    world.clock.set(COACH_UNTIL - timedelta(minutes=1))
    await served_from_memory(world, token)
    await ConsentService(world.db, world.clock).renew(
        Actor(ActorRole.SUBJECT, party_id=world.household_id), world.consents["coach"],
        COACH_UNTIL + timedelta(days=30))
    world.clock.set(COACH_UNTIL)
    status, body, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == 200, body


async def test_a_new_consent_is_seen_at_once(world: World) -> None:
    token = await world.token("dash")
    await served_from_memory(world, token)
    await world.withdraw("dash")
    for _ in range(2):  # remembered as "no consent in force"
        status, _, _ = await world.series(token, "daily_consumption", *WEEK)
        assert status == 403
    await ConsentService(world.db, world.clock).give(
        Actor(ActorRole.SUBJECT, party_id=world.household_id), ConsentDraft(
            grantor_id=world.household_id, recipient_id=world.apps["dash"], points=[PRM],
            datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.ENERGY_MONITORING,
            valid_until=world.clock.now() + timedelta(days=5), max_resolution=Resolution.P1D,
            history_days=365))
    status, body, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == 200, body


async def test_the_end_of_the_upstream_authorisation_is_seen_at_once(world: World) -> None:
    token = await world.token("dash")
    await served_from_memory(world, token)
    await world.end_upstream()
    status, body, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == 403
    assert body["rule"] == "upstream authorisation"


# ---- two replicas on one PostgreSQL database ----------------------------------------------

@pytest.fixture
async def pg_world(postgres_factory: PostgresFactory, tmp_path: Path) -> AsyncIterator[World]:
    url = postgres_factory.create()
    w = await build_world(url, tmp_path / "a")
    yield w
    await w.client.close()
    postgres_factory.drop(url)


@pytest.mark.postgres
async def test_a_withdrawal_on_one_replica_is_refused_by_the_other_within_a_second(
        pg_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = pg_world.client.app
    share_evidence_keys(monkeypatch, a)
    settings = Settings(data_dir=tmp_path / "b", database_url=_url(pg_world),
                        migrate_on_start=False,
                        recipient_rate=1000.0, recipient_burst=1000)
    adapters: dict[Source, Any] = a[adapters_key]
    b_client: TestClient[Any, Any] = TestClient(TestServer(
        create_app(settings, clock=pg_world.clock, adapters=adapters)))
    await b_client.start_server()
    try:
        token = await pg_world.token("dash")
        replica_b = World(b_client, pg_world.clock, pg_world.simulator,
                          b_client.app[data_service_key].facts.db, pg_world.household_id,
                          pg_world.issuer)
        await served_from_memory(replica_b, token)
        await pg_world.withdraw("dash")  # on replica A
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        status = 200
        while status == 200 and loop.time() < deadline:
            status, _, _ = await replica_b.series(token, "daily_consumption", *WEEK)
        assert status == 403
    finally:
        await b_client.close()


@pytest.mark.postgres
async def test_a_client_suspended_on_one_replica_gets_no_token_from_the_other_within_a_second(
        pg_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = pg_world.client.app
    share_evidence_keys(monkeypatch, a)
    settings = Settings(data_dir=tmp_path / "b", database_url=_url(pg_world),
                        migrate_on_start=False)
    b_client: TestClient[Any, Any] = TestClient(TestServer(
        create_app(settings, clock=pg_world.clock, adapters=a[adapters_key])))
    await b_client.start_server()
    try:
        replica_b = replace(pg_world, client=b_client)
        assert [await client_credentials(replica_b, "dash") for _ in range(2)] == [200, 200]
        assert client_hits(replica_b) > 0
        async with pg_world.db.session() as session:  # replica A's database handle
            await session.exec(sa.update(Recipient).values(  # type: ignore[call-overload]
                state=RecipientState.SUSPENDED))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        status = 200
        while status == 200 and loop.time() < deadline:
            status = await client_credentials(replica_b, "dash")
        assert status == 401
    finally:
        await b_client.close()


def _url(world: World) -> str:
    return world.db.engine.url.render_as_string(hide_password=False)

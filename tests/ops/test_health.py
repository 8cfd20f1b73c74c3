"""Liveness never depends on the database; readiness needs it up and at this code's head."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from aiohttp import web
from sqlalchemy import text

from consent.storage import Database
from consent.storage.migrate import head_revision
from proxy.health import classify
from tests.ops.conftest import running


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_liveness_holds_and_readiness_fails_while_the_database_is_down(
        make_app: Callable[..., web.Application]) -> None:
    url = f"postgresql://nobody@127.0.0.1:{closed_port()}/none"
    app = make_app(database_url=url, migrate_on_start=False)
    async with running(app) as client:
        live = await client.get("/healthz")
        live_body = await live.json()
        ready = await client.get("/readyz")
        body = await ready.json()

    assert live.status == 200
    assert live_body == {"status": "ok", "database": "postgresql"}
    assert ready.status == 503
    assert body == {"status": "unavailable", "database": "down"}


async def test_ready_once_migrated_to_head(database_url: str,
                                           make_app: Callable[..., web.Application]) -> None:
    async with running(make_app(database_url=database_url, migrate_on_start=False)) as client:
        ready = await client.get("/readyz")
        body = await ready.json()

    assert ready.status == 200
    assert body["schema"] == {"position": "at-head", "revision": head_revision(),
                              "head": head_revision()}


async def test_not_ready_on_an_unmigrated_database(
        make_app: Callable[..., web.Application]) -> None:
    async with running(make_app(migrate_on_start=False)) as client:
        ready = await client.get("/readyz")
        body = await ready.json()

    assert ready.status == 503
    assert body["schema"]["position"] == "empty"


async def test_a_schema_ahead_of_the_code_stays_ready_for_rolling_upgrades(
        database_url: str, make_app: Callable[..., web.Application]) -> None:
    db = Database.from_url(database_url)
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    await db.dispose()
    async with running(make_app(database_url=database_url, migrate_on_start=False)) as client:
        ready = await client.get("/readyz")
        body = await ready.json()

    assert ready.status == 200
    assert body["schema"]["position"] == "ahead"


@pytest.mark.parametrize(("revision", "head", "expected"), [
    (None, "b", "empty"),
    ("b", "b", "at-head"),
    ("a", "b", "behind"),
    ("z", "b", "ahead"),
    ("a", "b+c", "diverged"),
])
def test_classify(revision: str | None, head: str, expected: str) -> None:
    assert classify(revision, head, frozenset({"a", "b", "c"})) == expected

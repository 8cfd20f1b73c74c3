"""Liveness never depends on the database; readiness needs it up and at this code's head."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import text

from consent.clock import FrozenClock
from consent.evidence.keystore import MAX_SKEW
from consent.evidence.secrets import ENV_VAR, Keyring
from consent.evidence.service import KEYRING_FILE, Evidence
from consent.storage import Database
from consent.storage.migrate import head_revision
from proxy.app import create_app
from proxy.environment import InvalidConfiguration
from proxy.health import classify
from proxy.settings import Settings
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


async def test_an_unreachable_database_stops_the_start_only_where_the_process_migrates(
        make_app: Callable[..., web.Application]) -> None:
    """Review 16: docs/operations.md said every start checks that the database answers; only
    a process that migrates at start does (the default, one process). A replica that leaves
    migrations to the job starts without it (the test above) and is not ready until it
    answers, so an outage drains replicas instead of restarting them; the docs say so now."""
    url = f"postgresql://nobody@127.0.0.1:{closed_port()}/none"
    with pytest.raises(InvalidConfiguration, match=r"^Cannot use the database postgresql"):
        async with running(make_app(database_url=url, migrate_on_start=True)):
            pass


def test_the_runbook_says_which_starts_need_the_database() -> None:
    """The two behaviours above, as docs/operations.md states them."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    assert "`PASSERELLE_MIGRATE_ON_START=true`, the default), a database that answers" in docs
    assert '`/readyz` answers 503 `"database": "down"` until it answers' in docs


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


async def test_a_replica_without_the_instance_keyring_refuses_to_start(tmp_path: Path) -> None:
    """Review 15d: a second replica on the same database without PASSERELLE_EVIDENCE_KEYS (a
    fresh data directory) made a keyring of its own, logged EvidenceUnavailable, served, and
    said it was ready (/readyz 200) while every signed write answered 503. It now refuses to
    start; the first start on an empty database still makes the keys (the first replica)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first = Settings(data_dir=tmp_path / "replica-1", database_url=url, demo=True)
    async with running(create_app(first)) as client:
        assert (await client.get("/readyz")).status == 200
    second = replace(first, data_dir=tmp_path / "replica-2", demo=False)
    with pytest.raises(InvalidConfiguration, match="PASSERELLE_EVIDENCE_KEYS"):
        async with running(create_app(second)):
            pass
    # Given the instance's keys (here its key file), the same replica starts and is ready.
    keys = (tmp_path / "replica-1" / KEYRING_FILE).read_text()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_VAR, keys)
        async with running(create_app(second)) as client:
            assert (await client.get("/readyz")).status == 200


async def test_a_replica_whose_clock_is_behind_the_signing_key_is_told_so_not_about_keys(
        tmp_path: Path) -> None:
    """Review 16: a replica with the instance's keys but a clock ten minutes behind the one
    that opened the signing key cannot sign (no key is valid at its now); the start-up error
    said the keys could not be opened and asked for PASSERELLE_EVIDENCE_KEYS, which it had.
    It names the clock now, and still refuses to start."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    opened = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    first = Settings(data_dir=tmp_path / "replica-1", database_url=url)
    async with running(create_app(first, clock=FrozenClock(opened))) as client:
        assert (await client.get("/readyz")).status == 200
    keys = (tmp_path / "replica-1" / KEYRING_FILE).read_text()
    second = replace(first, data_dir=tmp_path / "replica-2")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_VAR, keys)
        behind = FrozenClock(opened - timedelta(minutes=10))
        with pytest.raises(InvalidConfiguration) as refused:
            async with running(create_app(second, clock=behind)):
                pass
        message = refused.value.detail
        assert "clock" in message, message
        # When the current key opens: MAX_SKEW before the first replica first signed with it.
        assert (opened - MAX_SKEW).isoformat(timespec="seconds") in message, message
        assert "PASSERELLE_EVIDENCE_KEYS" not in message, message
        async with running(create_app(second, clock=FrozenClock(opened))) as client:
            assert (await client.get("/readyz")).status == 200  # the same keys, a right clock


async def test_a_replica_that_can_no_longer_sign_is_not_ready(tmp_path: Path) -> None:
    """Review 16: start-up refuses a replica that cannot sign, but once running nothing said so
    again. Another replica, given a new line of evidence keys, rotates the signing key: the new
    key is sealed with a line this replica lacks, every signed write of it would answer 503,
    and /readyz said 200. It says 503 now, naming the cause, and 200 again once it can sign."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    old = base64.b64encode(b"o" * 32).decode()
    new = base64.b64encode(b"n" * 32).decode()
    settings = Settings(data_dir=tmp_path / "replica", database_url=url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_VAR, old)
        async with running(create_app(settings)) as client:
            ready = await client.get("/readyz")
            assert ready.status == 200, await ready.text()
            db = Database.from_url(url)
            other = Evidence.open(db, tmp_path / "other", origin="other.example/evidence",
                                  keyring=Keyring.parse(f"{old}\n{new}"))
            try:
                await other.rotate_key(actor="test")
                ready = await client.get("/readyz")
                body = await ready.json()
                assert ready.status == 503, body
                assert body["status"] == "unavailable"
                assert body["evidence"] == "keys"
                assert body["schema"]["position"] == "at-head"  # the database is fine
                # Back to a key this replica opens (its keys were given the new line, or, as
                # here, the key was rotated by a replica with the old one): ready again.
                await Evidence.open(db, tmp_path / "third", origin="other.example/evidence",
                                    keyring=Keyring.parse(old)).rotate_key(actor="test")
                ready = await client.get("/readyz")
                assert ready.status == 200, await ready.text()
            finally:
                await other.aclose()
                await db.dispose()

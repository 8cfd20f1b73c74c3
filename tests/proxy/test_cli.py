"""The command line: ``demo show``, ``migrate``; and ``serve --demo``'s startup path."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func
from sqlmodel import select

from consent.clock import FrozenClock
from consent.demo import DEMO_PLAN
from consent.models import Account
from consent.storage import Database, migrate
from proxy.app import create_app
from proxy.cli import main
from proxy.settings import Settings
from tests.support.databases import DatabaseFactory

ROOT = Path(__file__).resolve().parents[2]


def test_demo_show_json_prints_logins_points_and_credentials(
        capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    assert main(["demo", "show", "--json", "--data-dir", str(data_dir)]) == 0
    demo = json.loads(capsys.readouterr().out)
    assert {h["username"] for h in demo["households"]} >= {"camille", "julien", "sofia", "lotte"}
    assert {s["username"] for s in demo["staff"]} >= {"admin", "auditor"}
    clients = {c["client_id"]: c for c in demo["clients"]}
    for recipient in DEMO_PLAN.recipients:
        assert clients[recipient.client_id]["client_secret"] == \
            DEMO_PLAN.client_secret(recipient)
        assert clients[recipient.client_id]["redirect_uris"]
    refs = {p["ref"] for p in demo["points"]}
    assert "inhouse:541449100000001236" in refs
    assert "grdf:GI060511" in refs


def test_demo_show_text_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "show"]) == 0
    text = capsys.readouterr().out
    assert "camille-demo-2026" in text
    assert "demo-wattwatcher" in text
    assert "never on a production instance" in text


def test_the_console_entry_point_runs_as_a_process(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "proxy.cli", "demo", "show", "--json", "--data-dir",
         str(data_dir)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert len(json.loads(result.stdout)["clients"]) == len(DEMO_PLAN.recipients)


async def test_migrate_command_brings_an_empty_database_to_head(
        database_factory: DatabaseFactory, capsys: pytest.CaptureFixture[str],
        data_dir: Path) -> None:
    url = database_factory.create(migrated=False, fresh=True)
    try:
        # main() runs its own event loop: call it from a worker thread.
        code = await asyncio.to_thread(main, ["migrate", "--database-url", url,
                                              "--data-dir", str(data_dir)])
        assert code == 0
        assert migrate.head_revision() in capsys.readouterr().out
        db = Database.from_url(url)
        try:
            async with db.engine.connect() as conn:
                assert await conn.run_sync(migrate.current_revision) == migrate.head_revision()
        finally:
            await db.dispose()
    finally:
        database_factory.drop(url)


@pytest.mark.usefixtures("fast_password_hashing")
async def test_serve_demo_migrates_seeds_and_answers_healthz(data_dir: Path,
                                                             clock: FrozenClock) -> None:
    settings = Settings(data_dir=data_dir, demo=True)
    for _ in range(2):  # the second start finds the demo and leaves it alone
        async with TestClient(TestServer(create_app(settings, clock=clock))) as client:
            response = await client.get("/healthz")
            assert response.status == 200
            assert (await response.json()) == {"status": "ok", "database": "sqlite"}
    db = Database.from_url(settings.resolved_database_url)
    try:
        async with db.session() as session:
            accounts = (await session.exec(select(func.count()).select_from(Account))).one()
        assert accounts == len(DEMO_PLAN.households) + len(DEMO_PLAN.staff)
    finally:
        await db.dispose()


async def test_serve_without_demo_migrates_but_seeds_nothing(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    async with TestClient(TestServer(create_app(settings))) as client:
        assert (await client.get("/healthz")).status == 200
    db = Database.from_url(settings.resolved_database_url)
    try:
        async with db.session() as session:
            assert (await session.exec(select(func.count()).select_from(Account))).one() == 0
    finally:
        await db.dispose()

"""``passerelle evidence prune`` on an instance (proxy/retention_cli.py): a dry run counts and
writes nothing, a run sweeps and logs who ran it, and a bundle exported over the pruned period
still verifies offline with ``passerelle audit verify``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from consent.access_counts import ACCESS_COUNT_TABLE
from consent.access_events import ACCESS_EVENT_TABLE, AccessEvent, Outcome, row_of
from consent.clock import FrozenClock
from consent.evidence.log_reader import ENTRY
from consent.evidence.service import Evidence
from consent.evidence.verify_report import EXIT_VALID
from consent.storage.database import Database
from proxy.cli import main
from tests.evidence import scenario
from tests.support.databases import SqliteFactory

ORIGIN = "cli.test/evidence"


def old_read(at: datetime) -> AccessEvent:
    return AccessEvent(at=at, request_id="r", api="native", route="/api/v1/x",
                       outcome=Outcome.SERVED, status=200, body_sha256="0" * 64,
                       recipient_id="r-coach", consent_id="c-1", point=scenario.POINT,
                       dataset="daily_consumption")


async def fill(url: str, data_dir: Path) -> None:
    """Six weeks ago: the scenario's evidence history, and three access_event rows."""
    db = Database.from_url(url)
    clock = FrozenClock(datetime.now(UTC) - timedelta(days=45))
    evidence = Evidence.open(db, data_dir, origin=ORIGIN, clock=clock)
    await scenario.build(evidence, clock)
    async with db.engine.begin() as conn:
        await conn.execute(sa.insert(ACCESS_EVENT_TABLE), [
            row_of(old_read(clock.now() + timedelta(hours=h))) for h in range(3)])
    await evidence.aclose()
    await db.dispose()


async def rows(url: str) -> tuple[int, int, int, list[dict[str, object]]]:
    db = Database.from_url(url)
    async with db.engine.connect() as conn:
        detail = (await conn.execute(sa.select(sa.func.count()).select_from(
            ACCESS_EVENT_TABLE))).scalar_one()
        counted = (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(
            ACCESS_COUNT_TABLE.c.count), 0)))).scalar_one()
        payloads = (await conn.execute(sa.select(sa.func.count()).select_from(ENTRY).where(
            ENTRY.c.kind == "access", ENTRY.c.payload.is_not(None)))).scalar_one()
        admin = (await conn.execute(sa.select(ENTRY.c.payload).where(
            ENTRY.c.kind == "admin"))).scalars().all()
    await db.dispose()
    return int(detail), int(counted), int(payloads), [json.loads(p) for p in admin]


async def published_keys(url: str, data_dir: Path) -> dict[str, object]:
    """The instance's public key history, as ``GET /audit/v1/keys`` publishes it."""
    db = Database.from_url(url)
    evidence = Evidence.open(db, data_dir, origin=ORIGIN)
    origin = await evidence.origin()
    keys = [key.to_json(origin) for key in (await evidence.keys.history()).keys]
    await evidence.aclose()
    await db.dispose()
    return {"origin": origin, "keys": keys}


def test_prune_by_hand_then_verify_a_bundle_of_the_pruned_period(
        sqlite_factory: SqliteFactory, data_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_factory.create()
    asyncio.run(fill(url, data_dir))
    instance = ["--data-dir", str(data_dir), "--database-url", url]

    assert main(["evidence", "prune", *instance, "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert (dry["dry_run"], dry["access_events"], dry["access_payloads"]) == (True, 3, 7)
    assert dry["logged_at_index"] is None
    assert asyncio.run(rows(url)) == (3, 0, 7, [])  # nothing written

    assert main(["evidence", "prune", *instance, "--actor", "cli:olga"]) == 0
    text = capsys.readouterr().out
    assert ": 3 went into weekly/monthly counts" in text
    assert "logged as evidence entry" in text
    detail, counted, payloads, admin = asyncio.run(rows(url))
    assert (detail, counted, payloads) == (0, 3, 0)
    [event] = admin
    assert (event["action"], event["actor"]) == ("retention.sweep", "cli:olga")
    assert event["details"]["access_payloads"] == 7

    assert main(["evidence", "prune", *instance, "--json"]) == 0  # again: nothing left
    assert json.loads(capsys.readouterr().out)["access_events"] == 0

    bundle = tmp_path / "bundle.zip"
    assert main(["audit", "export", *instance, "--household", "h-1", "--actor",
                 "auditor:test", "-o", str(bundle)]) == 0
    assert ", 6 pruned," in capsys.readouterr().err  # its five reads and the denial
    trusted = tmp_path / "keys.json"
    trusted.write_text(json.dumps(asyncio.run(published_keys(url, data_dir))))
    assert main(["audit", "verify", str(bundle), "--household", "h-1",
                 "--trusted-keys", str(trusted)]) == EXIT_VALID
    out = capsys.readouterr().out
    assert "RESULT: VALID" in out
    assert "Pruned: 6 entries keep only their leaf" in out
    sqlite_factory.drop(url)

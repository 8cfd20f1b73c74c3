"""Evidence retention (consent/evidence/retention.py, R17): access payloads become weekly counts
after 31 days, counts only for weeks still in the 20-week view, and the counts themselves are
pruned once past it; bundles over pruned periods still verify."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from consent.clock import FrozenClock
from consent.evidence.log_reader import ENTRY
from consent.evidence.retention import COUNTS_POLICY
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence
from consent.evidence.verify import Expectation, verify_bundle
from consent.retention_calendar import week_of
from consent.storage.database import Database
from tests.evidence import scenario
from tests.evidence.conftest import T0


@pytest.fixture
def evidence(sqlite_db: Database, clock: FrozenClock) -> Evidence:
    return scenario.evidence_for(sqlite_db, clock)


async def retention_payloads(evidence: Evidence) -> list[dict[str, Any] | None]:
    async with evidence.log.db.engine.connect() as conn:
        rows = (await conn.execute(select(ENTRY.c.payload).where(
            ENTRY.c.kind == "retention").order_by(ENTRY.c.idx))).scalars().all()
    return [None if p is None else json.loads(p) for p in rows]


async def test_pruned_accesses_are_counted_per_week(evidence: Evidence,
                                                    clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    clock.advance(timedelta(days=40))
    result = await evidence.prune()
    assert (result.pruned, result.aggregates) == (7, 2)
    payloads = [p for p in await retention_payloads(evidence) if p is not None]
    weeks = {w for p in payloads for w in p["weeks"]}
    assert weeks == {"2026-03-02"}  # T0 is a Monday: every access fell in its week
    assert "days" not in payloads[0]  # no daily counts past the 31-day daily view
    served = sum(p["weeks"]["2026-03-02"]["daily_consumption"].get("served", 0)
                 for p in payloads)
    assert served == 6


async def test_an_access_pruned_after_its_weekly_view_is_counted_nowhere(
        evidence: Evidence, clock: FrozenClock) -> None:
    """A sweep that runs late (an outage, a first upgrade) does not write weekly counts of
    weeks already past R17's 20 weeks: the monthly view is access_count alone."""
    await scenario.build(evidence, clock)
    clock.advance(timedelta(days=200))
    result = await evidence.prune()
    assert (result.pruned, result.aggregates) == (7, 0)
    assert await retention_payloads(evidence) == []


async def test_weekly_counts_are_pruned_once_past_the_weekly_view(
        evidence: Evidence, clock: FrozenClock) -> None:
    await scenario.build(evidence, clock)
    clock.advance(timedelta(days=40))
    await evidence.prune()
    assert COUNTS_POLICY.detail_days == 116  # 20 weeks - 31 days + the longest week
    clock.advance(timedelta(days=116) - timedelta(seconds=1))
    assert (await evidence.prune(COUNTS_POLICY)).pruned == 0
    clock.advance(timedelta(seconds=2))
    result = await evidence.prune(COUNTS_POLICY)
    assert (result.pruned, result.aggregates) == (2, 0)  # counts of counts are not kept
    assert await retention_payloads(evidence) == [None, None]
    # Every week counted had ended more than 20 weeks before:
    assert clock.now() - timedelta(weeks=20) > week_of(T0).end

    out = io.BytesIO()
    await evidence.export(Selection(household_id="h-1"), out, actor="auditor:cnil-1")
    report = verify_bundle(io.BytesIO(out.getvalue()), expect=Expectation())
    assert report.ok, report.render()
    assert "pruned" in report.render()


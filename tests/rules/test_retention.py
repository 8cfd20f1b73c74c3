"""R17 in the running app: one read followed through the retention sweep (detail for 31 days,
then a weekly count, a monthly count, then nothing), and two replicas sweeping one PostgreSQL
at once (each read counted once). Bundles over pruned periods: tests/evidence/test_retention*."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from consent.access_counts import ACCESS_COUNT_TABLE
from consent.access_events import ACCESS_EVENT_TABLE
from consent.evidence.log_reader import ENTRY
from consent.retention_sweep import ACTION, run_retention
from proxy.evidence.setup import sweep_retention
from proxy.keys import evidence_key, metrics_key
from tests.rules.app_world import POINTS, RulesWorld, two_replicas
from tests.support.databases import PostgresFactory

SECOND = timedelta(seconds=1)


async def state(w: RulesWorld) -> dict[str, Any]:
    """What is left of the world's reads: detail, counts, evidence payloads, sweep events."""
    t = ACCESS_COUNT_TABLE
    async with w.db.engine.connect() as conn:
        detail = (await conn.execute(sa.select(sa.func.count()).select_from(
            ACCESS_EVENT_TABLE))).scalar()
        counts = [tuple(r) for r in await conn.execute(
            sa.select(t.c.grain, t.c.consent_id, t.c.point, t.c.dataset, t.c.outcome,
                      t.c.count).order_by(t.c.grain, t.c.consent_id))]
        entries = (await conn.execute(sa.select(ENTRY.c.kind, ENTRY.c.payload).where(
            ENTRY.c.kind.in_(("access", "retention", "admin"))))).all()
    sweeps = [json.loads(p) for k, p in entries
              if k == "admin" and json.loads(p)["action"] == ACTION]
    return {"detail": detail, "counts": counts,
            "access_payloads": sum(1 for k, p in entries if k == "access" and p is not None),
            "weekly_entries": [json.loads(p) for k, p in entries
                               if k == "retention" and p is not None],
            "sweeps": [s["details"] for s in sweeps], "actors": {s["actor"] for s in sweeps}}


async def sweep(w: RulesWorld) -> int:
    app = w.client.app
    return await sweep_retention(w.db, app[evidence_key], app[metrics_key])


async def test_one_read_through_every_view_of_r17(app_world: RulesWorld) -> None:
    w = app_world
    assert (await w.read("pmo", POINTS[0]))[0] == 200
    consent = w.consents["h0-pmo"]
    served = ("daily_consumption", "served")

    w.clock.advance(timedelta(days=31) - SECOND)  # 31 days minus a second: kept in full
    assert await sweep(w) == 0
    s = await state(w)
    assert (s["detail"], s["counts"], s["access_payloads"], s["sweeps"]) == (1, [], 1, [])

    w.clock.advance(2 * SECOND)  # 31 days plus a second: a weekly count
    assert await sweep(w) == 2  # the access_event row and the evidence payload
    s = await state(w)
    assert (s["detail"], s["access_payloads"]) == (0, 0)
    assert s["counts"] == [("week", consent, str(POINTS[0]), *served, 1)]
    [weekly] = s["weekly_entries"]
    assert weekly["weeks"] == {"2026-11-16": {"daily_consumption": {"served": 1}}}
    [details] = s["sweeps"]
    assert details["access_events"] == details["access_payloads"] == 1
    assert details["retention_entries"] == 1
    assert details["detail_before"] == "2026-11-22T09:00:01.000000Z"  # T0 + 1 s
    assert s["actors"] == {"sweep:retention"}
    metrics = w.client.app[metrics_key]
    assert metrics.retention_removed.labels(step="access_events")._value.get() == 1
    assert metrics.retention_sweep_time._value.get() == w.clock.now().timestamp()

    w.clock.advance(timedelta(days=200))  # the week ended more than 20 weeks ago: a month
    assert await sweep(w) == 2  # the weekly row, and the evidence's weekly counts
    s = await state(w)
    assert s["counts"] == [("month", consent, str(POINTS[0]), *served, 1)]
    assert s["weekly_entries"] == []

    w.clock.advance(timedelta(days=500))  # ~700 days: past the monthly view too
    assert await sweep(w) == 1
    s = await state(w)
    assert (s["detail"], s["counts"], s["access_payloads"]) == (0, [], 0)
    assert [d["monthly_counts"] for d in s["sweeps"]] == [0, 0, 1]
    assert await sweep(w) == 0  # nothing left: an idle run logs nothing
    assert len((await state(w))["sweeps"]) == 3


@pytest.mark.postgres
async def test_two_replicas_sweeping_at_once_count_each_read_once(
        postgres_factory: PostgresFactory, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with two_replicas(postgres_factory, tmp_path, monkeypatch) as (a, b):
        for n in range(12):
            world = a if n % 2 else b
            assert (await world.read("pmo", POINTS[n % 6]))[0] == 200
        reads = (await state(a))["detail"]
        assert reads == 12
        a.clock.advance(timedelta(days=40))
        first, second = await asyncio.gather(
            run_retention(a.db, a.client.app[evidence_key]),
            run_retention(b.db, b.client.app[evidence_key]))
        assert first.removed.access_events + second.removed.access_events == reads
        assert first.removed.access_payloads + second.removed.access_payloads == reads
        s = await state(a)
        assert (s["detail"], s["access_payloads"]) == (0, 0)
        assert sum(row[-1] for row in s["counts"]) == reads
        assert sum(n for e in s["weekly_entries"] for datasets in e["weeks"].values()
                   for outcomes in datasets.values() for n in outcomes.values()) == reads
        assert sum(d["access_events"] for d in s["sweeps"]) == reads  # the logs add up too

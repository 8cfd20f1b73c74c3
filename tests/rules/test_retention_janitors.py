"""R17: usage traces are kept in aggregated views only: daily for 31 days, weekly for 20
weeks, monthly for 20 months (docs/operations.md §8 step 3, docs/evidence-format.md "retention").

consent/evidence/retention.py (Evidence.prune) implements the 31-day payload pruning, but no
production code ever calls it: no sweep (proxy/sweeps.py users: cache-janitor, answer-janitor,
expiry-janitor, evidence-checkpoints), no CLI command. And the ``access_event`` table (one row
per data request: recipient, consent, point, dataset, window, outcome) has no deletion path at
all. After 700 days, running every janitor the app has, the detailed trace is still there.

Fixed: the server runs a ``retention-sweep`` task (proxy/evidence/setup.py,
consent/retention_sweep.py); the reviewer's check that nothing was scheduled became a check
that it is, and the test runs it like the other janitors. The views in between (weekly, then
monthly counts) are tests/rules/test_retention.py.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from consent.access_events import ACCESS_EVENT_TABLE
from consent.evidence.log_reader import ENTRY
from consent.expiry_sweep import prune_expired
from proxy.evidence.setup import sweep_retention
from proxy.keys import evidence_key, metrics_key
from proxy.oauth.answer_once import prune_old_answers
from tests.rules.app_world import POINTS, RulesWorld


async def test_detailed_usage_traces_outlive_every_retention_period(
        app_world: RulesWorld) -> None:
    w = app_world
    status, _ = await w.read("pmo", POINTS[0])
    assert status == 200
    w.clock.advance(timedelta(days=700))  # > 31 days, 20 weeks and 20 months
    # Every background job the running app has (proxy/oauth/setup.py, proxy/data/setup.py),
    # run now rather than at their random first instant:
    await prune_expired(w.db, w.clock.now())
    await prune_old_answers(w.db, w.clock.now())
    tasks = {t.get_name() for t in asyncio.all_tasks()}
    assert "retention-sweep" in tasks  # scheduled by the running app; run it now too:
    app = w.client.app
    assert await sweep_retention(w.db, app[evidence_key], app[metrics_key]) > 0
    async with w.db.engine.connect() as conn:
        detailed = (await conn.execute(sa.select(
            ACCESS_EVENT_TABLE.c.point, ACCESS_EVENT_TABLE.c.window_start,
            ACCESS_EVENT_TABLE.c.recipient_id))).all()
        payloads = (await conn.execute(sa.select(sa.func.count()).select_from(ENTRY).where(
            ENTRY.c.kind == "access", ENTRY.c.payload.is_not(None)))).scalar()
    assert detailed == [], f"access_event rows kept after 700 days: {detailed}"
    assert payloads == 0, "access evidence payloads never pruned (Evidence.prune never runs)"

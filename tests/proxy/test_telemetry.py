"""The data path feeds its metrics: DSO calls and their outcomes, 429s, cache lookups, quota
headroom, and the evidence log's size and newest checkpoint (sampled from the database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.base import Capabilities
from adapters.inhouse.config import ServerConfig
from adapters.simulator import SimulatorAdapter
from adapters.simulator.faults import Fault, FaultKind
from consent.evidence.tables import CheckpointRow, LogHeadRow
from proxy import telemetry
from proxy.keys import metrics_key, upstream_limiter_key
from tests.ops.test_metrics import sample
from tests.proxy.world import World, build_world
from tests.support.databases import SqliteFactory

WEEK = (date(2026, 11, 9), date(2026, 11, 16))


async def scrape(world: World) -> str:
    async with world.client.get("/metrics") as response:
        assert response.status == 200
        return await response.text()


async def test_dso_calls_429s_and_cache_lookups_are_counted(world: World) -> None:
    token = await world.token("dash")
    assert (await world.series(token, "daily_consumption", *WEEK))[0] == 200
    assert (await world.series(token, "daily_consumption", *WEEK))[0] == 200  # from the cache
    world.simulator.faults.next(Fault.of(FaultKind.RATE_LIMITED, retry_after=30))
    refused = await world.series(token, "daily_consumption", WEEK[1],
                                 WEEK[1] + timedelta(days=1))

    text = await scrape(world)
    assert refused[0] == 503
    assert sample(text, "passerelle_upstream_requests_total", source="simulator",
                  outcome="ok") == 2  # describe, then one series call for the week
    assert sample(text, "passerelle_upstream_requests_total", source="simulator",
                  outcome="throttled") == 1
    assert sample(text, "passerelle_upstream_throttled_total", source="simulator") == 1
    assert sample(text, "passerelle_upstream_request_duration_seconds_count",
                  source="simulator") == 3
    assert sample(text, "passerelle_cache_lookups_total", cache="day", result="miss") == 8
    assert sample(text, "passerelle_cache_lookups_total", cache="day", result="hit") == 7


class QuotaSimulator(SimulatorAdapter):
    """The in-process simulator announcing the in-house API's default quotas."""

    async def capabilities(self) -> Capabilities:
        return replace(await super().capabilities(), quotas=ServerConfig(clients={}).quotas)


@pytest.fixture
async def quota_world(sqlite_factory: SqliteFactory, tmp_path: Path) -> AsyncIterator[World]:
    url = sqlite_factory.create()
    world = await build_world(url, tmp_path / "instance", adapter_class=QuotaSimulator)
    yield world
    await world.client.close()
    sqlite_factory.drop(url)


async def test_quota_headroom_and_evidence_state_are_sampled(quota_world: World) -> None:
    world = quota_world
    token = await world.token("dash")
    await world.series(token, "daily_consumption", *WEEK)
    async with world.db.engine.begin() as conn:
        # The read above is already a leaf of the log: pretend the log is bigger.
        await conn.execute(sa.delete(LogHeadRow.__table__))  # type: ignore[attr-defined]
        await conn.execute(sa.insert(LogHeadRow.__table__).values(  # type: ignore[attr-defined]
            log_id="evidence", origin="test", size=42, root=b"\0" * 32,
            updated_at="2026-11-22T09:00:00Z"))
        await conn.execute(sa.insert(CheckpointRow.__table__).values(  # type: ignore[attr-defined]
            size=40, root=b"\0" * 32, note="n", issued_at="2026-11-22T10:00:00Z", kid="k"))
    app = world.client.app

    await telemetry.sample(app[metrics_key], world.db, app[upstream_limiter_key])

    text = await scrape(world)
    samples = _samples(text, "passerelle_upstream_quota_headroom_ratio")
    assert {s.labels["source"] for s in samples} == {"simulator"}  # the DSO application
    headroom = {s.labels["window"]: s.value for s in samples}
    assert headroom, "the windows used so far are published"
    # describe + one series call, both counted in the application-wide windows (the 1 s window
    # may have emptied again on a slow machine)
    assert set(headroom) == {"app/20per1s", "app/10000per3600s"}
    assert headroom["app/10000per3600s"] == 9998 / 10000
    assert headroom["app/20per1s"] >= 18 / 20
    assert sample(text, "passerelle_evidence_log_leaves") == 42
    # the newest: later than the one the application signed when it started (T0)
    assert sample(text, "passerelle_evidence_checkpoint_timestamp_seconds") == 1795341600.0


def _samples(text: str, name: str) -> list[object]:
    from prometheus_client.parser import text_string_to_metric_families

    return [s for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name]

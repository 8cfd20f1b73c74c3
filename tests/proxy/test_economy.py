"""Upstream economy through the whole app: quotas never exceeded, per-recipient limits, purge."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import ClassVar, TypeVar

from adapters.base import Capabilities, PointInfo, Quota
from adapters.simulator import SimulatorAdapter
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.readings import Quality, Reading, Series
from consent.vocabulary import Dataset, Resolution
from proxy.data.setup import purge_cache
from proxy.keys import data_service_key
from tests.proxy.conftest import WorldOf
from tests.proxy.world import MOVE_IN, PARIS, PRM, World, midnight

T = TypeVar("T")
QUOTA = Quota(requests=4, per=timedelta(milliseconds=200), scope="application")


class QuotaAdapter(SimulatorAdapter):
    """The simulator, declaring a tight quota and recording when each series call starts
    (after its limiter turn, when the simulated DSO would see it arrive)."""

    starts: ClassVar[list[float]] = []

    async def capabilities(self) -> Capabilities:
        caps = await super().capabilities()
        return Capabilities(caps.name, caps.sources, caps.datasets, (QUOTA,), caps.meter_port)

    async def _call(self, family: str, func: Callable[[], T]) -> T:
        def arrive() -> T:
            if family == "series":
                self.starts.append(time.monotonic())
            return func()

        return await super()._call(family, arrive)


def most_in_any_window(stamps: list[float], period: float) -> int:
    stamps, best, j = sorted(stamps), 0, 0
    for i, t in enumerate(stamps):
        while t - stamps[j] >= period:
            j += 1
        best = max(best, i - j + 1)
    return best


async def test_concurrent_recipients_never_exceed_the_upstream_quota(
        world_of: WorldOf) -> None:
    QuotaAdapter.starts = []
    async with world_of(cache=False, adapter_class=QuotaAdapter) as world:
        tokens = {app: await world.token(app) for app in ("dash", "coach")}
        days = [date(2026, 10, 1) + timedelta(days=i) for i in range(16)]
        results = await asyncio.gather(*(
            world.series(tokens["dash" if i % 2 else "coach"], "daily_consumption", day,
                         day + timedelta(days=1)) for i, day in enumerate(days)))
        assert [r[0] for r in results] == [200] * 16
        assert len(QuotaAdapter.starts) == 16
        assert most_in_any_window(QuotaAdapter.starts, 0.2) <= QUOTA.requests


async def test_a_recipient_over_its_rate_limit_gets_429_with_retry_after(
        world_of: WorldOf) -> None:
    async with world_of(rate=0.5, burst=2) as world:
        dash, coach = await world.token("dash"), await world.token("coach")
        week = (date(2026, 11, 1), date(2026, 11, 8))
        statuses = [(await world.series(dash, "daily_consumption", *week))[0] for _ in range(3)]
        assert statuses == [200, 200, 429]
        status, body, headers = await world.series(dash, "daily_consumption", *week)
        assert status == 429
        assert int(headers["Retry-After"]) >= 1
        assert body["type"].endswith("/rate-limited")
        assert (await world.series(coach, "daily_consumption", *week))[0] == 200  # others go on
        assert (await world.events())[-2]["rule"] == "rate limit"


async def test_every_request_counts_against_the_rate_limit_malformed_ones_too(
        world_of: WorldOf) -> None:
    """The limit is the recipient's requests, not its valid reads (found by review: a window
    given backwards, or a 429-worthy flood of them, never met the limit, each one an access
    event written); and a refused request's event names the point, dataset and window asked,
    on both APIs."""
    async with world_of(rate=0.01, burst=2) as world:
        dash = await world.token("dash")
        backwards = {"start": "2026-11-08", "end": "2026-11-01"}
        statuses = [(await world.get(f"/api/v1/points/{PRM}/datasets/daily_consumption", dash,
                                     **backwards))[0] for _ in range(3)]
        assert statuses == [400, 400, 429]
        status, body, headers = await world.get(
            "/compat/enedis/metering_data_dc/v5/daily_consumption", dash,
            usage_point_id=PRM.identifier, start="2026-11-01", end="2026-11-08")
        assert (status, body["error"]) == (429, "Quota Q3 reached")
        assert int(headers["Retry-After"]) >= 1
        status, _, _ = await world.series(dash, "daily_consumption", date(2026, 11, 1),
                                          date(2026, 11, 8))
        assert status == 429
        for event in (await world.events())[-2:]:
            assert (event["rule"], event["point"], event["dataset"]) == (
                "rate limit", str(PRM), "daily_consumption"), event
            assert (event["window_start"], event["window_end"]) == (
                midnight(date(2026, 11, 1)), midnight(date(2026, 11, 8))), event
            assert event["upstream_calls"] == 0


async def test_cached_days_go_when_no_consent_needs_the_point_and_dataset(
        world: World) -> None:
    """Only dash's consent covers the daily peaks: once it ends, their days go, though coach's
    consent keeps the point (and its daily consumption) needed."""
    token = await world.token("dash")
    week = (date(2026, 11, 1), date(2026, 11, 8))
    await world.series(token, "daily_consumption", *week)
    await world.series(token, "daily_max_power", *week)
    service = world.client.app[data_service_key]
    cache = service.upstreams[Source.ENEDIS].cache
    assert cache is not None
    assert await purge_cache(cache, service.facts, world.client.app) == 0  # still needed
    await world.withdraw("dash")
    assert await purge_cache(cache, service.facts, world.client.app) == 7  # the peaks
    coach = await world.token("coach")
    status, _, _ = await world.series(coach, "daily_consumption", *week)
    assert (status, (await world.events())[-1]["cache_days"]) == (200, 7)  # kept for coach
    await world.withdraw("coach")
    assert await purge_cache(cache, service.facts, world.client.app) == 7


async def test_a_former_occupants_cached_days_go_though_the_point_stays_needed(
        world: World) -> None:
    """R8/R9: days cached while the previous household lived there (read under its consent,
    since ended) can never be released again; the new household's consents keep the point
    and dataset needed, not those days (found by review: they stayed for good)."""
    service = world.client.app[data_service_key]
    cache = service.upstreams[Source.ENEDIS].cache
    assert cache is not None
    before = [MOVE_IN - timedelta(days=7 - n) for n in range(7)]
    await cache.put(PRM, Dataset.DAILY_CONSUMPTION, Resolution.P1D, {
        day: (Reading(midnight(day), midnight(day + timedelta(days=1)), Decimal(12345),
                      Quality.RAW),) for day in before}, world.clock.now())
    token = await world.token("dash")
    status, body, _ = await world.series(token, "daily_consumption", before[0], MOVE_IN)
    assert (status, body["rule"]) == (403, "R8 occupancy")
    assert await purge_cache(cache, service.facts, world.client.app) == 7
    assert await cache.get(PRM, Dataset.DAILY_CONSUMPTION, Resolution.P1D, before,
                           PARIS) == {}
    week = (date(2026, 11, 1), date(2026, 11, 8))
    assert (await world.series(token, "daily_consumption", *week))[0] == 200
    assert await purge_cache(cache, service.facts, world.client.app) == 0  # still needed


class GatedAdapter(SimulatorAdapter):
    """The simulator, its series calls held until ``gate`` opens."""

    gate: ClassVar[asyncio.Event]
    called: ClassVar[asyncio.Event]
    series_calls: ClassVar[int] = 0

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        type(self).series_calls += 1
        type(self).called.set()
        await type(self).gate.wait()
        return await super().series(point, dataset, period, resolution)


async def test_a_shared_call_outlives_the_request_that_started_it(
        world_of: WorldOf) -> None:
    """Two apps want the same days: one DSO call serves both. The app that started it goes
    away mid-call: the other one still gets its answer and its access event, and the days
    reach the cache."""
    GatedAdapter.gate, GatedAdapter.called = asyncio.Event(), asyncio.Event()
    GatedAdapter.series_calls = 0
    async with world_of(adapter_class=GatedAdapter) as world:
        dash, coach = await world.token("dash"), await world.token("coach")
        week = (date(2026, 11, 1), date(2026, 11, 8))
        leader = asyncio.create_task(world.series(coach, "daily_consumption", *week))
        await asyncio.wait_for(GatedAdapter.called.wait(), 10)
        follower = asyncio.create_task(world.series(dash, "daily_consumption", *week))
        await asyncio.sleep(0.2)  # dash is waiting on coach's call
        leader.cancel()  # coach's client disconnects
        await asyncio.sleep(0.2)
        GatedAdapter.gate.set()
        status, body, _ = await asyncio.wait_for(follower, 10)
        assert status == 200, body
        assert len(body["values"]) == 7
        assert GatedAdapter.series_calls == 1
        served = [e for e in await world.events() if e["recipient_id"] == world.apps["dash"]]
        assert [(e["status"], e["values"]) for e in served] == [(200, 7)]
        # coach left before the answer and has no event: the call is listed in dash's (R16).
        assert served[0]["upstream"] == ["daily_consumption 2026-11-01..2026-11-07"]
        status, _, _ = await world.series(coach, "daily_consumption", *week)
        assert (status, GatedAdapter.series_calls) == (200, 1)  # from the cache


async def test_no_dso_call_outlives_the_application(world_of: WorldOf) -> None:
    """A call whose requester left is stopped when the application closes: it would
    otherwise go on over a closed HTTP session, limiter and database."""
    GatedAdapter.gate, GatedAdapter.called = asyncio.Event(), asyncio.Event()
    GatedAdapter.series_calls = 0
    async with world_of(adapter_class=GatedAdapter) as world:
        coach = await world.token("coach")
        asking = asyncio.create_task(world.series(coach, "daily_consumption",
                                                  date(2026, 11, 1), date(2026, 11, 8)))
        await asyncio.wait_for(GatedAdapter.called.wait(), 10)
        upstream = world.client.app[data_service_key].upstreams[Source.ENEDIS]
        (shared,) = upstream._inflight.values()
        asking.cancel()
        await world.client.close()
        assert shared.task.cancelled()
        assert not upstream._inflight


class SlowDescribing(SimulatorAdapter):
    """The simulator, each description of a point taking 150 ms, and counted."""

    described: ClassVar[int] = 0

    async def describe(self, point: PointRef) -> PointInfo:
        type(self).described += 1
        await asyncio.sleep(0.15)
        return await super().describe(point)


async def test_apps_arriving_together_share_one_description_of_the_point(
        world_of: WorldOf) -> None:
    """A point's first requests, from two apps at once: one description (two DSO calls on
    Enedis), not one each; both apps' events list it once between them (R16)."""
    SlowDescribing.described = 0
    async with world_of(adapter_class=SlowDescribing) as world:
        dash, coach = await world.token("dash"), await world.token("coach")
        week = (date(2026, 11, 1), date(2026, 11, 8))
        answers = await asyncio.gather(world.series(dash, "daily_consumption", *week),
                                       world.series(coach, "daily_consumption", *week))
        assert [status for status, _, _ in answers] == [200, 200]
        assert SlowDescribing.described == 1
        listed = [call for e in await world.events() for call in e["upstream"]
                  if call.startswith("describe")]
        assert listed == [f"describe {PRM}"]


async def test_overlapping_windows_asked_together_fetch_each_day_once(
        world_of: WorldOf) -> None:
    """dash asks the first week; while its call runs, coach asks the first fortnight: coach
    waits on dash's call for the first week and asks the DSO for the second only (found by
    review: the fortnight was asked whole, the first week twice). Each call is listed in one
    access event."""
    GatedAdapter.gate, GatedAdapter.called = asyncio.Event(), asyncio.Event()
    GatedAdapter.series_calls = 0
    async with world_of(adapter_class=GatedAdapter) as world:
        dash, coach = await world.token("dash"), await world.token("coach")
        week = asyncio.create_task(world.series(dash, "daily_consumption",
                                                date(2026, 11, 1), date(2026, 11, 8)))
        await asyncio.wait_for(GatedAdapter.called.wait(), 10)
        GatedAdapter.called.clear()
        fortnight = asyncio.create_task(world.series(coach, "daily_consumption",
                                                     date(2026, 11, 1), date(2026, 11, 15)))
        await asyncio.wait_for(GatedAdapter.called.wait(), 10)  # coach's own call
        GatedAdapter.gate.set()
        (status, body, _), (both, whole, _) = await asyncio.wait_for(
            asyncio.gather(week, fortnight), 10)
        assert (status, len(body["values"]), both, len(whole["values"])) == (200, 7, 200, 14)
        assert whole["values"][:7] == body["values"]
        assert GatedAdapter.series_calls == 2
        listed = sorted(call for e in await world.events() for call in e["upstream"]
                        if call.startswith("daily_consumption"))
        assert listed == ["daily_consumption 2026-11-01..2026-11-07",
                          "daily_consumption 2026-11-08..2026-11-14"]

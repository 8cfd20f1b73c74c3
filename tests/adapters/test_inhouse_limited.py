"""The in-house client takes a limiter turn for every API request, under the quotas its server
announces, per route family when a quota says so; a 429 holds the family for its Retry-After.

The server counts what reaches it: a request the limiter refuses is never sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import pytest
from aiohttp import web

from adapters.base import Quota
from adapters.errors import QuotaBusy, UpstreamRateLimited
from adapters.retry_after import MAX_RETRY_AFTER
from adapters.simulator import Fault, FaultKind
from adapters.timekeeping import at_hour
from consent.periods import Period
from consent.vocabulary import Dataset, Resolution
from tests.adapters.support import inhouse_dso
from tests.contract.harnesses import LONG

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WEEK = Period(at_hour(date(2026, 10, 1), "Europe/Paris"),
              at_hour(date(2026, 10, 8), "Europe/Paris"))




async def test_application_quotas_count_every_request_and_refuse_before_sending() -> None:
    async with inhouse_dso(Quota(3, timedelta(hours=1))) as world:
        await world.client.describe(LONG)
        await world.client.series(LONG, Dataset.DAILY_CONSUMPTION, WEEK, Resolution.P1D)
        await world.client.occupancy(LONG)
        with pytest.raises(QuotaBusy) as refused:
            await world.client.authorisation(LONG)
        room = await world.limiter.headroom()
    assert world.arrivals == ["capabilities", "points", "series", "occupancy"]
    assert refused.value.retry_after is not None
    assert refused.value.retry_after >= 3600
    (application, window), = room
    assert application == world.client.application
    assert room[(application, window)] == (0, 3)


async def test_route_families_with_their_own_quota_do_not_block_each_other() -> None:
    async with inhouse_dso(Quota(100, timedelta(seconds=1)),
                   Quota(1, timedelta(hours=1), "api")) as world:
        await world.client.series(LONG, Dataset.DAILY_CONSUMPTION, WEEK, Resolution.P1D)
        with pytest.raises(QuotaBusy):
            await world.client.series(LONG, Dataset.DAILY_CONSUMPTION, WEEK, Resolution.P1D)
        await world.client.occupancy(LONG)
        await world.client.describe(LONG)
    assert world.arrivals == ["capabilities", "series", "occupancy", "points"]


async def test_a_429_holds_its_route_family_for_retry_after() -> None:
    async with inhouse_dso(Quota(100, timedelta(seconds=1)),
                   Quota(100, timedelta(hours=1), "api")) as world:
        await world.client.capabilities()
        world.simulator.faults.next(Fault.of(FaultKind.RATE_LIMITED, retry_after=20))
        with pytest.raises(UpstreamRateLimited) as answered:
            await world.client.occupancy(LONG)
        with pytest.raises(QuotaBusy) as held:
            await world.client.occupancy(LONG)
        await world.client.authorisation(LONG)  # another family goes on
        world.clock.advance(timedelta(seconds=20))
        await world.client.occupancy(LONG)
    assert not isinstance(answered.value, QuotaBusy)  # that one was the DSO's own 429
    assert held.value.retry_after is not None
    assert 0 < held.value.retry_after <= 20
    assert world.arrivals == ["capabilities", "occupancy", "authorisation", "occupancy"]
    assert world.limiter.backoffs == 1


async def test_a_huge_retry_after_holds_at_most_an_hour() -> None:
    """A DSO's Retry-After holds the operator's whole application: a broken or hostile value
    (10^12 s) is capped at an hour, for the answer and for the hold."""
    async with inhouse_dso(Quota(100, timedelta(seconds=1))) as world:
        await world.client.capabilities()
        world.simulator.faults.next(Fault.of(FaultKind.RATE_LIMITED, retry_after=10**12))
        with pytest.raises(UpstreamRateLimited) as answered:
            await world.client.occupancy(LONG)
        assert answered.value.retry_after == MAX_RETRY_AFTER == 3600
        with pytest.raises(QuotaBusy) as held:
            await world.client.occupancy(LONG)
        assert held.value.retry_after is not None
        assert held.value.retry_after <= 3600
        world.clock.advance(timedelta(seconds=3600))
        await world.client.occupancy(LONG)
    assert world.arrivals == ["capabilities", "occupancy", "occupancy"]

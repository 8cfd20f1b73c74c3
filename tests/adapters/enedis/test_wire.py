"""Data Connect's quirks, limits and failure modes, against the fake gateway."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.enedis import Generation
from adapters.enedis.errors import NOT_HOLDER
from adapters.errors import (
    NotYetAvailable,
    QuotaBusy,
    UnsupportedResolution,
    UpstreamDenied,
    UpstreamUnavailable,
)
from adapters.fakes.common import weekdays
from adapters.quota import acting_for
from adapters.simulator import Fault, FaultKind
from adapters.timekeeping import at_hour
from consent.periods import Period
from consent.vocabulary import Dataset, Resolution
from tests.adapters.support import EnedisWorld, enedis_world
from tests.contract.harnesses import ENEDIS_CONSENTS, FAST_RETRY, LONG, MOVED, VACANT

PARIS = "Europe/Paris"


async def _consents(world: EnedisWorld) -> None:
    for point, given in ENEDIS_CONSENTS.items():
        granted = world.state.grant((point.identifier,), given, 1095)
        await world.adapter.directory.remember(point, str(granted.autorisation_id))


def _days(first: date, count: int) -> Period:
    return Period(at_hour(first, PARIS), at_hour(first + timedelta(days=count), PARIS))


@pytest.mark.parametrize("generation", list(Generation))
async def test_not_the_holder_arrives_as_http_400_and_is_a_denial(generation: Generation) -> None:
    async with enedis_world(generation) as world:
        await _consents(world)
        with pytest.raises(UpstreamDenied) as caught:
            await world.adapter.series(VACANT, Dataset.DAILY_CONSUMPTION,
                                       _days(date(2026, 10, 1), 2), Resolution.P1D)
        assert caught.value.extra["reason"] == NOT_HOLDER
        assert caught.value.extra["upstream_code"] == "ADAM-DC-0007"


@pytest.mark.parametrize("generation", list(Generation))
async def test_null_values_are_gaps_never_zeros(generation: Generation) -> None:
    gaps = {LONG.identifier: weekdays(["tuesday", "wednesday"])}
    async with enedis_world(generation, fake={"null_days": gaps}) as world:
        await _consents(world)
        period = _days(date(2026, 9, 28), 14)
        series = await world.adapter.series(LONG, Dataset.DAILY_CONSUMPTION, period,
                                            Resolution.P1D)
        reference = world.simulator.series(LONG, Dataset.DAILY_CONSUMPTION, period,
                                           Resolution.P1D)
        expected = [r for r in reference.readings if r.start.weekday() not in (1, 2)]
        assert list(series.readings) == expected
        assert len(series.readings) == 10


@pytest.mark.parametrize(("day", "slots"), [(date(2026, 3, 29), 46), (date(2025, 10, 26), 50)])
async def test_load_curve_end_stamps_survive_clock_changes(day: date, slots: int) -> None:
    """Local end-of-interval stamps repeat on the night clocks go back: order disambiguates."""
    async with enedis_world() as world:
        await _consents(world)
        period = _days(day, 1)
        series = await world.adapter.series(LONG, Dataset.CONSUMPTION_LOAD_CURVE, period,
                                            Resolution.PT30M)
        assert len(series.readings) == slots
        assert series == world.simulator.series(LONG, Dataset.CONSUMPTION_LOAD_CURVE, period,
                                                Resolution.PT30M)


async def test_periods_are_split_into_seven_day_curve_calls() -> None:
    async with enedis_world() as world:
        await _consents(world)
        before = world.adapter.transport.exchanges
        await world.adapter.series(LONG, Dataset.CONSUMPTION_LOAD_CURVE,
                                   _days(date(2026, 8, 1), 43), Resolution.PT30M)
        assert world.adapter.transport.exchanges - before == 7
        before = world.adapter.transport.exchanges
        await world.adapter.series(LONG, Dataset.DAILY_CONSUMPTION,
                                   _days(date(2025, 6, 1), 400), Resolution.P1D)
        assert world.adapter.transport.exchanges - before == 2


async def test_limits_are_checked_before_any_call() -> None:
    async with enedis_world() as world:
        today = datetime(2026, 10, 15, tzinfo=UTC).date()
        with pytest.raises(NotYetAvailable):
            await world.adapter.series(LONG, Dataset.DAILY_CONSUMPTION, _days(today, 1),
                                       Resolution.P1D)
        assert world.adapter.transport.exchanges == 1  # only the lookup naming the served period


async def test_one_application_token_serves_every_request_and_is_renewed_ahead() -> None:
    async with enedis_world() as world:
        await _consents(world)
        for recipient in ("app-a", "app-b", "app-c"):
            with acting_for(recipient):
                await world.adapter.series(LONG, Dataset.DAILY_CONSUMPTION,
                                           _days(date(2026, 10, 1), 3), Resolution.P1D)
        assert world.adapter.token.fetched == 1
        world.clock.advance(timedelta(seconds=12600) - timedelta(minutes=4))
        await world.adapter.record(MOVED, Dataset.ADDRESS)
        assert world.adapter.token.fetched == 2  # renewed 5 minutes before it expires
        world.state.tokens.revoke_all()  # Enedis dropped it early: 401, renew once, go on
        await world.adapter.record(MOVED, Dataset.ADDRESS)
        assert world.adapter.token.fetched == 3


async def test_a_429_with_a_short_retry_after_is_waited_for_and_retried() -> None:
    async with enedis_world() as world:
        await _consents(world)
        world.simulator.faults.next(Fault.of(FaultKind.RATE_LIMITED, retry_after=1))
        record = await world.adapter.record(MOVED, Dataset.ADDRESS)
        assert record.fields["postal_code"]
        assert world.sleeps.waits == [1.0]


async def test_the_prm_in_the_query_string_gets_a_500_retried_then_given_up() -> None:
    """A request off the swagger is answered 500: retried like any 5xx, then given up."""
    async with enedis_world() as world:
        await _consents(world)
        with pytest.raises(UpstreamUnavailable):
            await world.adapter.transport.request(
                "GET", "/situation_contrat_auto/v1", api="situation_contrat_auto/v1",
                params={"prm": LONG.identifier})
        assert world.adapter.transport.exchanges == 3
        assert len(world.sleeps.waits) == 2


async def test_an_unsubscribed_api_leaves_its_fields_unknown() -> None:
    async with enedis_world(fake={"unsubscribed": frozenset({"comptage_auto"})}) as world:
        await _consents(world)
        fields = (await world.adapter.record(LONG, Dataset.CONTRACT)).fields
        assert fields["meter_type"] is None
        assert fields["offpeak_hours"] is None
        assert fields["segment"] == "C5"


async def test_a_curve_recorded_at_another_step_is_announced_and_refused() -> None:
    async with enedis_world(fake={"curve_steps": {LONG.identifier: Resolution.PT10M}}) as world:
        await _consents(world)
        info = await world.adapter.describe(LONG)
        assert info.availability(Dataset.CONSUMPTION_LOAD_CURVE).resolutions == (
            Resolution.PT10M,)
        with pytest.raises(UnsupportedResolution):
            await world.adapter.series(LONG, Dataset.CONSUMPTION_LOAD_CURVE,
                                       _days(date(2026, 10, 1), 1), Resolution.PT30M)



async def test_our_own_limiter_refusing_is_not_retried() -> None:
    """QuotaBusy means our limiter found no turn within its bound and nothing was sent: the
    transport passes it on at once rather than sleeping its Retry-After and asking again."""
    from adapters.base import Quota

    tight = (Quota(1, timedelta(seconds=1)),)
    async with enedis_world(config={"quotas": tight}) as world:
        await _consents(world)
        await world.adapter.record(MOVED, Dataset.ADDRESS)
        sent = world.adapter.transport.exchanges
        with pytest.raises(QuotaBusy) as busy:
            await world.adapter.record(MOVED, Dataset.ADDRESS)
        assert busy.value.retry_after is not None
        assert busy.value.retry_after <= FAST_RETRY.max_delay  # short enough to have been retried
        assert world.sleeps.waits == []
        assert world.adapter.transport.exchanges == sent


async def test_the_access_event_counts_every_exchange_of_a_retried_call() -> None:
    """A call the transport retried (a 429 waited for) took two HTTP exchanges of the DSO's
    quota: the request's report says two, and names the call once (R16)."""
    from proxy.upstream.calls import FetchReport
    from proxy.upstream.fetcher import Upstream

    async with enedis_world() as world:
        await _consents(world)
        upstream = Upstream(world.adapter, await world.adapter.capabilities(), world.clock)
        window = _days(date(2026, 10, 1), 3)
        await upstream.describe(LONG, "app")  # described apart: the report holds one call
        quiet, retried = FetchReport(), FetchReport()
        await upstream.series(LONG, Dataset.DAILY_CONSUMPTION, window, recipient="app",
                              report=quiet)
        world.simulator.faults.next(Fault.of(FaultKind.RATE_LIMITED, retry_after=1))
        await upstream.series(LONG, Dataset.DAILY_CONSUMPTION, _days(date(2026, 10, 5), 3),
                              recipient="app", report=retried)
        assert quiet.upstream_calls == 1
        assert quiet.calls == ["daily_consumption 2026-10-01..2026-10-03"]
        assert retried.upstream_calls == 2
        assert retried.calls == ["daily_consumption 2026-10-05..2026-10-07 (2 exchanges)"]


async def test_a_shared_call_reports_its_exchanges_once() -> None:
    """Two requests waiting on one retried call: the one whose event lists it counts both
    exchanges, the other none (the call was made once)."""
    import asyncio

    from proxy.upstream.calls import FetchReport
    from proxy.upstream.fetcher import Upstream

    async with enedis_world() as world:
        await _consents(world)
        upstream = Upstream(world.adapter, await world.adapter.capabilities(), world.clock)
        await upstream.describe(LONG, "app")
        world.simulator.faults.next(Fault.of(FaultKind.RATE_LIMITED, retry_after=1))
        reports = [FetchReport(), FetchReport()]
        window = _days(date(2026, 10, 1), 3)
        await asyncio.gather(*(upstream.series(LONG, Dataset.DAILY_CONSUMPTION, window,
                                               recipient=app, report=report)
                               for app, report in zip(("a", "b"), reports, strict=True)))
        assert sorted(r.upstream_calls for r in reports) == [0, 2]
        assert sorted(len(r.calls) for r in reports) == [0, 1]


class _OneMoreTurn:
    """Our limiter's protocol, granting every turn until armed, then ``armed`` more, then
    QuotaBusy (a quota window found full)."""

    armed: int | None = None

    async def acquire(self, plan: object, api: str, recipient: str) -> None:
        if self.armed is not None:
            if self.armed == 0:
                raise QuotaBusy("The data source is at its request quota.", retry_after=5)
            self.armed -= 1

    async def backoff(self, plan: object, api: str, seconds: float | None) -> float:
        return 0.0

    def settled(self, plan: object, api: str) -> None:
        return None

    async def headroom(self) -> dict[tuple[str, str], tuple[int, int]]:
        return {}

    async def close(self) -> None:
        return None


async def test_exchanges_sent_before_our_limiter_refuses_a_retry_are_listed() -> None:
    """A 503, then the retry refused by our own limiter: the one exchange that reached the
    DSO is in the report, with the refusal's code."""
    from proxy.upstream.calls import FetchReport
    from proxy.upstream.fetcher import Upstream

    limiter = _OneMoreTurn()
    async with enedis_world(limiter=limiter) as world:  # type: ignore[arg-type]
        await _consents(world)
        upstream = Upstream(world.adapter, await world.adapter.capabilities(), world.clock)
        await upstream.describe(LONG, "app")
        world.simulator.faults.next(Fault.of(FaultKind.UNAVAILABLE, status=503))
        limiter.armed = 1
        report = FetchReport()
        with pytest.raises(QuotaBusy):
            await upstream.series(LONG, Dataset.DAILY_CONSUMPTION, _days(date(2026, 10, 1), 3),
                                  recipient="app", report=report)
        assert report.upstream_calls == 1
        assert report.calls == ["daily_consumption 2026-10-01..2026-10-03 -> "
                                "upstream-rate-limited"]

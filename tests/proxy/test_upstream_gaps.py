"""A day the DSO has no value for, among days it has: a gap in the answer, the first time as
the next, when the days around it come from the cache and it is asked for alone; remembered
as a gap for a while once settled, so that polling apps do not ask for it on every request."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from adapters.base import Capabilities, DatasetAvailability, DatasetLimits, PointInfo
from adapters.errors import NoData
from consent.clock import FrozenClock
from consent.day_cache import GAP_TTL, DayCache
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.readings import Reading, Series
from consent.storage import Database
from consent.vocabulary import Dataset, Direction, Energy, Resolution
from proxy.upstream.calls import FetchReport
from proxy.upstream.fetcher import Upstream

PARIS = ZoneInfo("Europe/Paris")
GAS = PointRef(Source.GRDF, "GI000001")
GAP = date(2026, 9, 10)


class GappedDso:
    """Gas days of September 2026, but none for :data:`GAP`; a period with no day at all is
    :class:`NoData`, as GRDF's adapter answers."""

    def __init__(self) -> None:
        self.calls: list[tuple[date, date]] = []

    async def describe(self, point: PointRef) -> PointInfo:
        return PointInfo(point, Energy.GAS, frozenset({Direction.CONSUMPTION}), "Europe/Paris",
                         (DatasetAvailability(Dataset.DAILY_CONSUMPTION, (Resolution.P1D,),
                                              None),))

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        assert period.end is not None
        first, end = period.start.astimezone(PARIS).date(), period.end.astimezone(PARIS).date()
        self.calls.append((first, end))
        days = [first + timedelta(days=k) for k in range((end - first).days)]
        readings = tuple(Reading(datetime(d.year, d.month, d.day, 6, tzinfo=PARIS),
                                 datetime(d.year, d.month, d.day, 6, tzinfo=PARIS)
                                 + timedelta(days=1), Decimal(d.day))
                         for d in days if d != GAP)
        if not readings:
            raise NoData("No gas day in that period.")
        return Series(point, dataset, "Wh", resolution, "Europe/Paris", readings)


def _capabilities(per_call: timedelta = timedelta(days=365)) -> Capabilities:
    return Capabilities("gapped", frozenset({Source.GRDF}), (DatasetLimits(
        Dataset.DAILY_CONSUMPTION, frozenset({Energy.GAS}), (Resolution.P1D,),
        per_call, None),), (), False)


async def test_a_gap_day_stays_a_gap_when_asked_for_alone(cache_db: Database) -> None:
    dso = GappedDso()
    upstream = Upstream(dso, _capabilities(), FrozenClock(datetime(2026, 10, 1, 12,
                                                                    tzinfo=PARIS)),
                        cache=DayCache(cache_db, b"k" * 32))
    window = Period(datetime(2026, 9, 1, tzinfo=PARIS), datetime(2026, 9, 20, tzinfo=PARIS))
    answers = [await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, window,
                                     recipient=app, report=FetchReport())
               for app in ("a", "b")]
    assert [len(a.readings) for a in answers] == [18, 18]
    assert answers[0].readings == answers[1].readings
    # The gap is remembered (consent.day_cache.GAP_TTL): the second app's request made no call.
    assert dso.calls == [(date(2026, 9, 1), date(2026, 9, 20))]
    only_the_gap = Period(datetime(2026, 9, 10, tzinfo=PARIS),
                          datetime(2026, 9, 11, tzinfo=PARIS))
    with pytest.raises(NoData):  # nothing at all in the window: still no data
        await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, only_the_gap,
                              recipient="c", report=FetchReport())


async def test_a_gap_is_asked_for_again_once_its_memory_ends(cache_db: Database) -> None:
    """DSOs publish late data for days a meter did not communicate: a gap is asked for again
    after GAP_TTL, alone (the days around it stay cached)."""
    clock = FrozenClock(datetime(2026, 10, 1, 12, tzinfo=PARIS))
    dso = GappedDso()
    upstream = Upstream(dso, _capabilities(), clock, cache=DayCache(cache_db, b"k" * 32))
    window = Period(datetime(2026, 9, 1, tzinfo=PARIS), datetime(2026, 9, 20, tzinfo=PARIS))
    for _ in range(2):
        await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, window, recipient="a",
                              report=FetchReport())
        clock.advance(GAP_TTL - timedelta(minutes=1))
    assert len(dso.calls) == 1
    clock.advance(timedelta(minutes=2))
    served = await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, window, recipient="a",
                                   report=FetchReport())
    assert len(served.readings) == 18
    assert dso.calls[1:] == [(GAP, GAP + timedelta(1))]


async def test_the_days_of_a_no_data_call_are_gaps_too(cache_db: Database) -> None:
    dso = GappedDso()
    upstream = Upstream(dso, _capabilities(), FrozenClock(datetime(2026, 10, 1, 12,
                                                                    tzinfo=PARIS)),
                        cache=DayCache(cache_db, b"k" * 32))
    with pytest.raises(NoData):
        await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, _days(GAP, 1), recipient="a",
                              report=FetchReport())
    served = await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, _days(GAP, 2),
                                   recipient="a", report=FetchReport())
    assert [r.start.date() for r in served.readings] == [GAP + timedelta(1)]
    assert dso.calls == [(GAP, GAP + timedelta(1)), (GAP + timedelta(1), GAP + timedelta(2))]


async def test_a_day_not_settled_yet_is_no_gap(cache_db: Database) -> None:
    """An empty day just ended may be one the DSO has not published yet: not remembered."""
    dso = GappedDso()
    clock = FrozenClock(datetime.combine(GAP, datetime.min.time(), PARIS) + timedelta(days=2))
    upstream = Upstream(dso, _capabilities(), clock, cache=DayCache(cache_db, b"k" * 32))
    window = _days(GAP - timedelta(1), 2)
    for _ in range(2):
        await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, window, recipient="a",
                              report=FetchReport())
    assert dso.calls == [(GAP - timedelta(1), GAP + timedelta(1)), (GAP, GAP + timedelta(1))]


def _days(first: date, count: int) -> Period:
    start = datetime.combine(first, datetime.min.time(), PARIS)
    return Period(start, start + timedelta(days=count))


async def test_a_window_needing_more_than_eight_dso_calls_is_refused(
        cache_db: Database) -> None:
    """A 7-day per-call window: 56 days go in 8 calls, 57 are refused before any call, with
    the most that would be accepted; cached days do not change what is accepted."""
    from consent.errors import InvalidPeriod
    from proxy.upstream.fetcher import MAX_CALLS_PER_REQUEST

    dso = GappedDso()
    weekly = _capabilities(timedelta(days=7))
    upstream = Upstream(dso, weekly, FrozenClock(datetime(2026, 12, 1, 12, tzinfo=PARIS)),
                        cache=DayCache(cache_db, b"k" * 32))
    first = datetime(2026, 8, 1, tzinfo=PARIS)
    most = 7 * MAX_CALLS_PER_REQUEST
    served = await upstream.series(GAS, Dataset.DAILY_CONSUMPTION,
                                   Period(first, first + timedelta(days=most)),
                                   recipient="a", report=FetchReport())
    assert len(served.readings) == most - 1  # GAP is among them
    assert len(dso.calls) == MAX_CALLS_PER_REQUEST
    with pytest.raises(InvalidPeriod) as refused:  # one day more, though all but it cached
        await upstream.series(GAS, Dataset.DAILY_CONSUMPTION,
                              Period(first, first + timedelta(days=most + 1)),
                              recipient="a", report=FetchReport())
    assert refused.value.extra["max_days"] == most
    assert f"at most {most} days" in refused.value.detail
    assert len(dso.calls) == MAX_CALLS_PER_REQUEST  # refused before any call


async def test_scattered_cached_days_do_not_multiply_the_calls(
        cache_db: Database) -> None:
    """Every other day cached (the days between held an estimate): an accepted window still
    takes at most the calls it would take with nothing cached, cached days inside a call
    fetched again and served once."""
    from consent.vocabulary import Resolution as R
    from proxy.upstream.fetcher import MAX_CALLS_PER_REQUEST

    dso = GappedDso()
    weekly = _capabilities(timedelta(days=7))
    now = datetime(2026, 12, 1, 12, tzinfo=PARIS)
    cache = DayCache(cache_db, b"k" * 32)
    upstream = Upstream(dso, weekly, FrozenClock(now), cache=cache)
    first = date(2026, 8, 1)
    cached = {}
    for k in range(0, 56, 2):
        day = first + timedelta(days=k)
        start = datetime(day.year, day.month, day.day, 6, tzinfo=PARIS)
        cached[day] = (Reading(start, start + timedelta(days=1), Decimal(day.day)),)
    await cache.put(GAS, Dataset.DAILY_CONSUMPTION, R.P1D, cached, now)
    report = FetchReport()
    window = Period(datetime(2026, 8, 1, tzinfo=PARIS), datetime(2026, 9, 26, tzinfo=PARIS))
    series = await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, window,
                                   recipient="a", report=report)
    # Calls of up to seven days from each missing day: 2-8, 10-16... the days 9, 17...
    # between them come from the cache (GAP, 10 September, among them).
    assert len(dso.calls) == 7 <= MAX_CALLS_PER_REQUEST
    starts = [r.start for r in series.readings]
    assert len(starts) == len(set(starts)) == 56  # no day twice, none missing
    assert report.cache_days == 7


class CachedCurveDso:
    """A half-hourly point whose every day asked for is in the cache: never called for data."""

    async def describe(self, point: PointRef) -> PointInfo:
        return PointInfo(point, Energy.GAS, frozenset({Direction.CONSUMPTION}), "Europe/Paris",
                         (DatasetAvailability(Dataset.CONSUMPTION_LOAD_CURVE,
                                              (Resolution.PT30M,), None),))

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        raise AssertionError("every day asked for is cached")


async def test_readings_are_ordered_by_instant_on_the_night_clocks_go_back(
        cache_db: Database) -> None:
    """Half-hours of 25 October 2026 from the cache (one ZoneInfo: wall-clock order puts
    02:00+01:00 before 02:30+02:00) come back in the order they happened."""
    from zoneinfo import ZoneInfo

    from consent.vocabulary import Resolution as R

    utc = ZoneInfo("UTC")
    midnight = datetime(2026, 10, 24, 22, tzinfo=utc)  # 25 October, 00:00 in Paris
    halves = tuple(Reading(midnight + timedelta(minutes=30 * i),
                           midnight + timedelta(minutes=30 * (i + 1)), Decimal(i))
                   for i in range(50))  # a 25-hour day
    cache = DayCache(cache_db, b"k" * 32)
    now = datetime(2026, 11, 1, tzinfo=PARIS)
    await cache.put(GAS, Dataset.CONSUMPTION_LOAD_CURVE, R.PT30M,
                    {date(2026, 10, 25): halves}, now)
    upstream = Upstream(CachedCurveDso(), Capabilities("curve", frozenset({Source.GRDF}), (
        DatasetLimits(Dataset.CONSUMPTION_LOAD_CURVE, frozenset({Energy.GAS}), (R.PT30M,),
                      timedelta(days=7), None),), (), False), FrozenClock(now), cache=cache)
    series = await upstream.series(GAS, Dataset.CONSUMPTION_LOAD_CURVE,
                                   Period(datetime(2026, 10, 25, tzinfo=PARIS),
                                          datetime(2026, 10, 26, tzinfo=PARIS)),
                                   recipient="a", report=FetchReport())
    assert [r.value for r in series.readings] == [Decimal(i) for i in range(50)]


class ForgetfulDso(GappedDso):
    """Has nothing any more for 9 to 11 September (``NoData``), or (``gap``) 9 and 11 only."""

    def __init__(self, gap: bool) -> None:
        super().__init__()
        self.gap = gap

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        answer = await super().series(point, dataset, period, resolution)
        if not self.gap:
            raise NoData("Nothing for that period.")
        return answer  # GappedDso leaves GAP, 10 September, out


@pytest.mark.parametrize("gap", [False, True])
async def test_a_cached_day_the_dso_leaves_out_of_a_refetch_is_still_served(
        cache_db: Database, gap: bool) -> None:
    """10 September cached, 9 and 11 not: the call for 9 to 11 fetches the 10th again; if the
    DSO now leaves it out (or answers no data at all), the cached day is served, as it would
    be if asked for alone."""
    now = datetime(2026, 10, 1, 12, tzinfo=PARIS)
    cache = DayCache(cache_db, b"k" * 32)
    start = datetime(2026, 9, 10, 6, tzinfo=PARIS)
    await cache.put(GAS, Dataset.DAILY_CONSUMPTION, Resolution.P1D,
                    {GAP: (Reading(start, start + timedelta(days=1), Decimal(10)),)}, now)
    upstream = Upstream(ForgetfulDso(gap), _capabilities(), FrozenClock(now), cache=cache)
    report = FetchReport()
    around = await upstream.series(GAS, Dataset.DAILY_CONSUMPTION,
                                   Period(datetime(2026, 9, 9, tzinfo=PARIS),
                                          datetime(2026, 9, 12, tzinfo=PARIS)),
                                   recipient="a", report=report)
    days = [r.start.date() for r in around.readings]
    assert days == ([date(2026, 9, 9), GAP, date(2026, 9, 11)] if gap else [GAP])
    assert report.cache_days == 1


async def test_a_cached_day_the_dso_leaves_out_stays_cached(cache_db: Database) -> None:
    """Review of the gap memory: a cached day fetched again between missing days, left out
    by the DSO this time, was stored as a gap over its readings; the next request lost it."""
    now = datetime(2026, 10, 1, 12, tzinfo=PARIS)
    cache = DayCache(cache_db, b"k" * 32)
    start = datetime(GAP.year, GAP.month, GAP.day, 6, tzinfo=PARIS)
    await cache.put(GAS, Dataset.DAILY_CONSUMPTION, Resolution.P1D,
                    {GAP: (Reading(start, start + timedelta(days=1), Decimal(10)),)}, now)
    upstream = Upstream(GappedDso(), _capabilities(), FrozenClock(now), cache=cache)
    answers = [await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, _days(GAP - timedelta(1), 3),
                                     recipient="a", report=FetchReport()) for _ in range(2)]
    assert len(answers[0].readings) == 3  # the GAP day from the cache
    assert answers[1].readings == answers[0].readings

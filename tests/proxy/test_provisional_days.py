"""Provisional raw values (GRDF "Provisoire", Enedis "BRUT") are served from the day cache for a
while only: the DSO replaces them when the meter's reading is published (GRDF "Définitive") or
corrected (Enedis "BEST"), and recipients must then get those values. Raw values a DSO declares
final (``Capabilities.raw_final``) stay cached."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

import consent.day_cache as module
from adapters.enedis import Generation
from adapters.timekeeping import at_hour
from consent.clock import FrozenClock
from consent.day_cache import PROVISIONAL_TTL, DayCache
from consent.periods import Period
from consent.readings import Quality, Reading, Series
from consent.storage import Database
from consent.vocabulary import Dataset, Resolution
from proxy.upstream.calls import FetchReport
from proxy.upstream.fetcher import Upstream
from tests.adapters.support import enedis_world
from tests.contract.harnesses import ENEDIS_CONSENTS, LONG
from tests.proxy.test_upstream_gaps import GAS, PARIS, GappedDso, _capabilities

WINDOW = Period(datetime(2026, 9, 1, tzinfo=PARIS), datetime(2026, 9, 8, tzinfo=PARIS))
START = datetime(2026, 10, 1, 7, tzinfo=ZoneInfo("Europe/Paris"))


class PublishingDso(GappedDso):
    """Gas days with provisional (raw) values until ``published`` is set, then the published
    (validated) ones, each one more."""

    published = False

    async def series(self, point: object, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        answer = await super().series(point, dataset, period, resolution)  # type: ignore[arg-type]
        if not self.published:
            return answer
        return replace(answer, readings=tuple(
            Reading(r.start, r.end, r.value + 1, Quality.VALIDATED) for r in answer.readings))


@pytest.mark.parametrize("raw_final", [False, True])
async def test_provisional_days_are_fetched_again_after_their_shelf_life(
        cache_db: Database, raw_final: bool) -> None:
    dso, clock = PublishingDso(), FrozenClock(START)
    upstream = Upstream(dso, replace(_capabilities(), raw_final=raw_final), clock,
                        cache=DayCache(cache_db, b"k" * 32))

    async def read() -> list[tuple[Decimal, Quality]]:
        series = await upstream.series(GAS, Dataset.DAILY_CONSUMPTION, WINDOW,
                                       recipient="app", report=FetchReport())
        return [(r.value, r.quality) for r in series.readings]

    first = await read()
    assert {q for _, q in first} == {Quality.RAW}
    assert len(dso.calls) == 1
    clock.advance(PROVISIONAL_TTL - timedelta(minutes=1))
    assert await read() == first  # within the shelf life: from the cache
    assert len(dso.calls) == 1
    dso.published = True
    clock.advance(timedelta(minutes=2))
    later = await read()
    if raw_final:  # raw values that are final stay cached
        assert later == first
        assert len(dso.calls) == 1
        return
    assert later == [(v + 1, Quality.VALIDATED) for v, _ in first]
    assert len(dso.calls) == 2
    clock.advance(timedelta(days=30))  # published values are settled: cached for good
    assert await read() == later
    assert len(dso.calls) == 2


async def test_a_row_that_opens_to_garbage_is_a_miss(cache_db: Database) -> None:
    """A row sealed under the right key whose content is not a day's readings (a bug of an
    older version, a hand edit) is refetched, never a 500."""
    cache = DayCache(cache_db, b"k" * 32)
    day = date(2026, 9, 2)
    good = Reading(datetime(2026, 9, 2, 6, tzinfo=PARIS), datetime(2026, 9, 3, 6, tzinfo=PARIS),
                   Decimal(3))
    await cache.put(GAS, Dataset.DAILY_CONSUMPTION, Resolution.P1D, {day: (good,)}, START)
    assert await cache.get(GAS, Dataset.DAILY_CONSUMPTION, Resolution.P1D, [day], PARIS) \
        == {day: (good,)}
    encode = module._encode
    for garbage in (b"not json", b'{"a": 1}', b'[["x", 1, "2", "raw"]]',
                    b'[[1, 2, "3", "odd"]]',
                    b"[]",  # no reading: the day would never be fetched again
                    b'[[0, 86400, "3", "raw"]]',  # a reading of another day (1970)
                    b'[[1788328800, 1788415200, "NaN", "raw"]]'):  # not a number
        module._encode = lambda _readings, g=garbage: g  # type: ignore[assignment]
        try:
            await cache.put(GAS, Dataset.DAILY_CONSUMPTION, Resolution.P1D, {day: (good,)},
                            START)
        finally:
            module._encode = encode  # type: ignore[assignment]
        assert await cache.get(GAS, Dataset.DAILY_CONSUMPTION, Resolution.P1D, [day],
                               PARIS) == {}


@pytest.mark.parametrize("generation", list(Generation))
async def test_enedis_brut_days_are_not_cached_for_good(cache_db: Database,
                                                        generation: Generation) -> None:
    """Data Connect 2026 marks values ``BRUT`` (raw) or ``BEST`` (corrected: reference §1.9,
    ``etapeMetier``): a day served raw may be corrected later, so it is served from the cache
    for :data:`PROVISIONAL_TTL` only, then asked for again, like GRDF's "Provisoire". v5 says
    ``BRUT`` of every value: asking again could never reach a corrected day, so its days stay
    cached (found by the session's last review: every past v5 day cost the quota again every
    six hours)."""
    async with enedis_world(generation) as world:
        for point, given in ENEDIS_CONSENTS.items():
            granted = world.state.grant((point.identifier,), given, 1095)
            await world.adapter.directory.remember(point, str(granted.autorisation_id))
        upstream = Upstream(world.adapter, await world.adapter.capabilities(), world.clock,
                            cache=DayCache(cache_db, b"k" * 32))
        window = Period(at_hour(date(2026, 10, 1), "Europe/Paris"),
                        at_hour(date(2026, 10, 8), "Europe/Paris"))

        async def read() -> set[Quality]:
            series = await upstream.series(LONG, Dataset.DAILY_CONSUMPTION, window,
                                           recipient="app", report=FetchReport())
            assert len(series.readings) == 7
            return {r.quality for r in series.readings}

        assert await read() == {Quality.RAW}
        calls = upstream.calls
        world.clock.advance(PROVISIONAL_TTL - timedelta(minutes=1))
        await read()  # the same morning: from the cache
        assert upstream.calls == calls
        world.clock.advance(timedelta(minutes=2))
        await read()  # raw, and older than its shelf life: Enedis may have corrected it
        assert upstream.calls == calls + (generation is Generation.DC2026)

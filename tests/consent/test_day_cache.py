"""The day cache: sealed at rest, bound to its row, complete past days, purgeable."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from consent.day_cache import DayCache, complete_days, load_cache_secret
from consent.identifiers import PointRef, Source
from consent.readings import Quality, Reading
from consent.storage import Database
from consent.vocabulary import Dataset, Resolution

PARIS = ZoneInfo("Europe/Paris")
PRM = PointRef(Source.ENEDIS, "22516914714270")
OTHER = PointRef(Source.ENEDIS, "11453290002823")
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
def database(db: Database) -> Database:
    """The shared ``db`` fixture: a migrated database, on SQLite and on PostgreSQL."""
    return db


def half_hours(day: date, skip: int | None = None) -> tuple[Reading, ...]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=PARIS).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(),
                           tzinfo=PARIS).astimezone(UTC)
    out, i = [], 0
    while start < end:
        if i != skip:
            out.append(Reading(start.astimezone(PARIS), (start + timedelta(minutes=30)).astimezone(
                PARIS), Decimal(1000 + i)))
        start += timedelta(minutes=30)
        i += 1
    return tuple(out)


def test_only_complete_days_that_have_ended_are_cacheable() -> None:
    days = (half_hours(date(2026, 6, 12)) + half_hours(date(2026, 6, 13), skip=7)
            + half_hours(date(2026, 6, 14)) + half_hours(date(2026, 6, 15)))
    got = complete_days(days, Resolution.PT30M, PARIS, NOW)
    assert sorted(got) == [date(2026, 6, 12), date(2026, 6, 14)]
    autumn = half_hours(date(2025, 10, 26))
    assert len(autumn) == 50
    assert list(complete_days(autumn, Resolution.PT30M, PARIS, NOW)) == [date(2025, 10, 26)]


def test_a_daily_value_is_a_complete_day() -> None:
    gas_day = Reading(datetime(2026, 6, 1, 6, tzinfo=PARIS), datetime(2026, 6, 2, 6, tzinfo=PARIS),
                      Decimal(12))
    assert complete_days([gas_day], Resolution.P1D, PARIS, NOW) == {date(2026, 6, 1): (gas_day,)}


def test_estimates_and_running_periods_are_not_settled() -> None:
    """An estimate is replaced by a reading later (GRDF "Estimé"), a month still running grows:
    neither is sealed as final. A raw value of a past day is (the DSO's normal answer)."""
    def gas_day(day: int, quality: Quality) -> Reading:
        return Reading(datetime(2026, 6, day, 6, tzinfo=PARIS),
                       datetime(2026, 6, day + 1, 6, tzinfo=PARIS), Decimal(12), quality)

    days = [gas_day(10, Quality.RAW), gas_day(11, Quality.ESTIMATED),
            gas_day(12, Quality.VALIDATED), gas_day(14, Quality.RAW)]  # the 14th ends at 6:00
    got = complete_days(days, Resolution.P1D, PARIS, datetime(2026, 6, 15, 3, tzinfo=PARIS))
    assert sorted(got) == [date(2026, 6, 10), date(2026, 6, 12)]
    june = Reading(datetime(2026, 6, 1, tzinfo=PARIS), datetime(2026, 7, 1, tzinfo=PARIS),
                   Decimal(300))
    assert complete_days([june], Resolution.P1M, PARIS, NOW) == {}
    assert complete_days([june], Resolution.P1M, PARIS, datetime(2026, 7, 1, tzinfo=PARIS)) \
        == {date(2026, 6, 1): (june,)}


async def test_days_round_trip_sealed(database: Database) -> None:
    cache = DayCache(database, os.urandom(32))
    day = date(2026, 6, 1)
    await cache.put(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M,
                    {day: half_hours(day)}, NOW)
    got = await cache.get(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M,
                          [day, day + timedelta(days=1)], PARIS)
    assert got == {day: half_hours(day)}
    async with database.engine.connect() as conn:
        query = sa.text("SELECT point_key, sealed FROM upstream_cache_day")
        rows = (await conn.execute(query)).all()
    (point_key, sealed), = rows
    assert PRM.identifier not in point_key
    assert b"1000" not in sealed
    assert b"22516914714270" not in sealed


async def test_another_secret_or_another_row_does_not_open(database: Database) -> None:
    cache = DayCache(database, os.urandom(32))
    day = date(2026, 6, 1)
    await cache.put(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M,
                    {day: half_hours(day)}, NOW)
    stranger = DayCache(database, os.urandom(32))
    assert await stranger.get(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M, [day],
                              PARIS) == {}
    async with database.engine.begin() as conn:  # move the sealed day onto another date
        await conn.execute(sa.text("UPDATE upstream_cache_day SET day = '2026-06-02'"))
    assert await cache.get(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M,
                           [date(2026, 6, 2)], PARIS) == {}


async def test_purge_drops_points_and_datasets_no_consent_needs(database: Database) -> None:
    cache = DayCache(database, os.urandom(32))
    day = date(2026, 6, 1)
    for point in (PRM, OTHER):
        await cache.put(point, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M,
                        {day: half_hours(day)}, NOW)
    await cache.put(PRM, Dataset.PRODUCTION_LOAD_CURVE, Resolution.PT30M,
                    {day: half_hours(day)}, NOW)
    assert await cache.purge({("default", PRM, Dataset.CONSUMPTION_LOAD_CURVE): None}) == 2
    assert await cache.get(OTHER, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M, [day],
                           PARIS) == {}
    assert await cache.get(PRM, Dataset.PRODUCTION_LOAD_CURVE, Resolution.PT30M, [day],
                           PARIS) == {}
    assert await cache.get(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M, [day], PARIS)


async def test_purge_leaves_the_days_cached_after_the_consents_were_read(
        database: Database) -> None:
    """The janitor reads what consents need, then deletes in a later transaction: a day
    cached meanwhile, under a consent granted after that read, stays (the next run decides)."""
    cache = DayCache(database, os.urandom(32))
    day = date(2026, 6, 1)
    await cache.put(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M,
                    {day: half_hours(day)}, NOW)
    await cache.put(OTHER, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M,
                    {day: half_hours(day)}, NOW + timedelta(seconds=1))
    assert await cache.purge({}, stored_by=NOW) == 1
    assert await cache.get(OTHER, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M, [day],
                           PARIS)


async def test_purge_drops_the_days_before_the_first_a_consent_could_release(
        database: Database) -> None:
    """R8/R12: days no active consent can release any more (a former occupant's, beyond
    every history) go, though their point and dataset stay needed; the rest stay."""
    cache = DayCache(database, os.urandom(32))
    days = [date(2026, 5, 30), date(2026, 5, 31), date(2026, 6, 1), date(2026, 6, 2)]
    await cache.put(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M,
                    {day: half_hours(day) for day in days}, NOW)
    needed = {("default", PRM, Dataset.CONSUMPTION_LOAD_CURVE): date(2026, 6, 1)}
    assert await cache.purge(needed) == 2
    assert await cache.purge(needed) == 0
    kept = await cache.get(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M, days, PARIS)
    assert sorted(kept) == days[2:]


def test_the_secret_file_is_private_and_stable(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSERELLE_CACHE_KEY", raising=False)
    first = load_cache_secret(tmp_path)
    assert len(first) == 32
    assert (tmp_path / "cache.key").stat().st_mode & 0o777 == 0o600
    assert load_cache_secret(tmp_path) == first

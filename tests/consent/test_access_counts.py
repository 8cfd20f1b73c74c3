"""R17's views in the database: the calendar's periods and cut-offs, and the folds of
consent/access_counts.py (both backends: the folds' deletes and upserts are dialect-specific)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from consent.access_counts import (
    ACCESS_COUNT_TABLE,
    census,
    drop_months,
    fold_access_events,
    fold_weeks,
)
from consent.access_events import (
    ACCESS_EVENT_TABLE,
    ADDRESS_LIMIT_RULE,
    AccessEvent,
    Outcome,
    row_of,
)
from consent.retention_calendar import DETAIL, Horizons, month_of, week_of
from consent.storage import Database

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def event(at: datetime, *, consent: str = "c-1", outcome: Outcome = Outcome.SERVED,
          dataset: str = "daily_consumption") -> dict[str, Any]:
    return row_of(AccessEvent(at=at, request_id="r", api="native", route="/api/v1/x",
                              outcome=outcome, status=200, body_sha256="0" * 64,
                              recipient_id="app-1", consent_id=consent,
                              point="enedis:22516914700001", dataset=dataset))


async def insert(db: Database, rows: list[dict[str, Any]]) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(sa.insert(ACCESS_EVENT_TABLE), rows)


async def detail(db: Database) -> list[datetime]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(sa.select(ACCESS_EVENT_TABLE.c.at)
                                        .order_by(ACCESS_EVENT_TABLE.c.at))).scalars())


async def counts(db: Database) -> list[tuple[str, datetime, datetime, int]]:
    t = ACCESS_COUNT_TABLE
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.select(t.c.grain, t.c.period_start, t.c.period_end,
                                            t.c.count).order_by(t.c.period_start, t.c.grain))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_weeks_start_on_monday_and_stop_at_the_month() -> None:
    # 2026-09-30 is a Wednesday: its week is Monday 28 to Thursday 1 October, cut at the month.
    week = week_of(datetime(2026, 9, 30, 23, 59, tzinfo=UTC))
    assert (week.start, week.end) == (datetime(2026, 9, 28, tzinfo=UTC),
                                      datetime(2026, 10, 1, tzinfo=UTC))
    week = week_of(datetime(2026, 10, 2, tzinfo=UTC))
    assert (week.start, week.end) == (datetime(2026, 10, 1, tzinfo=UTC),
                                      datetime(2026, 10, 5, tzinfo=UTC))
    month = month_of(datetime(2026, 12, 31, 12, tzinfo=UTC))
    assert (month.start, month.end) == (datetime(2026, 12, 1, tzinfo=UTC),
                                        datetime(2027, 1, 1, tzinfo=UTC))


def test_horizons_are_31_days_20_weeks_and_20_calendar_months() -> None:
    h = Horizons.at(NOW)
    assert h.detail_before == NOW - timedelta(days=31)
    assert h.weeks_before == NOW - timedelta(weeks=20)
    assert h.months_before == datetime(2025, 3, 22, 9, 0, tzinfo=UTC)
    assert h.bucket(NOW - timedelta(days=40)) == week_of(NOW - timedelta(days=40))
    assert h.bucket(NOW - timedelta(days=200)) == month_of(NOW - timedelta(days=200))
    assert h.bucket(NOW - timedelta(days=700)) is None


async def test_an_access_leaves_the_detail_one_second_after_31_days(db: Database) -> None:
    kept, gone = NOW - DETAIL + SECOND, NOW - DETAIL - SECOND
    await insert(db, [event(kept), event(gone), event(NOW - DETAIL)])
    h = Horizons.at(NOW)
    assert await census(db, h) == {"access_events": 1, "weekly_counts": 0, "monthly_counts": 0}
    assert await fold_access_events(db, h) == 1
    assert await detail(db) == [NOW - DETAIL, kept]  # exactly 31 days old: still kept
    week = week_of(gone)
    assert await counts(db) == [("week", week.start, week.end, 1)]
    assert await fold_access_events(db, h) == 0  # nothing left to fold: nothing counted twice


async def test_counts_move_from_week_to_month_then_go(db: Database) -> None:
    first = NOW - timedelta(days=35)
    await insert(db, [event(first), event(first + SECOND), event(first, outcome=Outcome.DENIED),
                      event(first, consent="c-2")])
    assert await fold_access_events(db, Horizons.at(NOW)) == 4
    week, month = week_of(first), month_of(first)
    assert [(g, n) for g, *_, n in await counts(db)] == [("week", 2), ("week", 1), ("week", 1)]

    later = week.end + timedelta(weeks=20)  # the week ended exactly 20 weeks ago: kept
    assert await fold_weeks(db, Horizons.at(later)) == 0
    assert await fold_weeks(db, Horizons.at(later + SECOND)) == 3
    assert sorted(await counts(db)) == sorted([("month", month.start, month.end, n)
                                               for n in (2, 1, 1)])

    h = Horizons.at(later + SECOND)
    assert await drop_months(db, h) == 0
    end_plus_20 = Horizons.at(datetime(2028, 7, 1, tzinfo=UTC))  # November 2026 + 20 months
    assert end_plus_20.months_before == month.end == datetime(2026, 11, 1, tzinfo=UTC)
    assert await drop_months(db, end_plus_20) == 0  # ended exactly 20 months ago: kept
    assert await drop_months(db, Horizons.at(datetime(2028, 7, 1, 0, 0, 1, tzinfo=UTC))) == 3
    assert await counts(db) == []


async def test_a_summary_of_refused_requests_counts_as_the_requests_it_stands_for(
        db: Database) -> None:
    """R16's refusals past an address's limit are one event a minute whose ``values`` says how
    many (proxy/data/address_limit.py): the weekly count holds that many requests."""
    at = NOW - timedelta(days=35)
    summary = row_of(AccessEvent(at=at, request_id="r", api="native", route="/api/v1/points",
                                 outcome=Outcome.DENIED, status=429, body_sha256="0" * 64,
                                 rule=ADDRESS_LIMIT_RULE, values=180))
    refused = row_of(AccessEvent(at=at, request_id="s", api="native", route="/api/v1/points",
                                 outcome=Outcome.DENIED, status=401, body_sha256="0" * 64,
                                 rule="R6 token"))
    await insert(db, [summary, refused])
    assert await fold_access_events(db, Horizons.at(NOW)) == 2
    assert [n for *_, n in await counts(db)] == [181]


async def test_a_late_sweep_sends_old_accesses_to_the_view_they_are_still_in(
        db: Database) -> None:
    ages = [timedelta(days=d) for d in (40, 50, 200, 700)]
    await insert(db, [event(NOW - age) for age in ages])
    assert await fold_access_events(db, Horizons.at(NOW)) == 4
    assert [(g, n) for g, *_, n in await counts(db)] == [("month", 1), ("week", 1), ("week", 1)]
    assert await detail(db) == []  # the 700-day-old access is in no view any more


async def test_two_folds_at_once_count_every_access_once(db: Database) -> None:
    """Two replicas sweeping together (two tasks on one database here; on PostgreSQL two
    connections whose deletes meet on the same rows): each access is counted exactly once."""
    base = NOW - timedelta(days=45)
    await insert(db, [event(base + timedelta(minutes=i), consent=f"c-{i % 3}",
                            outcome=Outcome.SERVED if i % 4 else Outcome.DENIED)
                      for i in range(300)])
    h = Horizons.at(NOW)
    first, second = await asyncio.gather(fold_access_events(db, h, batch=7),
                                         fold_access_events(db, h, batch=7))
    assert first + second == 300
    assert await detail(db) == []
    assert sum(n for *_, n in await counts(db)) == 300
    later = Horizons.at(NOW + timedelta(weeks=30))
    a, b = await asyncio.gather(fold_weeks(db, later, batch=2), fold_weeks(db, later, batch=2))
    assert sum(n for *_, n in await counts(db)) == 300
    assert {g for g, *_ in await counts(db)} == {"month"}
    assert a + b > 0

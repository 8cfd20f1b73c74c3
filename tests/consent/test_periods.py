"""Half-open periods and calendar day ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.errors import InvalidPeriod
from consent.periods import DayRange, Period

T = datetime(2026, 1, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=10_000).map(lambda h: T + timedelta(hours=h))


def test_bounds_must_be_ordered_and_aware() -> None:
    with pytest.raises(InvalidPeriod):
        Period(T, T)
    with pytest.raises(InvalidPeriod):
        Period(T, T - timedelta(seconds=1))
    with pytest.raises(InvalidPeriod):
        Period(T.replace(tzinfo=None))


def test_half_open() -> None:
    period = Period(T, T + timedelta(days=1))
    assert period.contains(T)
    assert not period.contains(T + timedelta(days=1))
    assert Period(T).contains(T + timedelta(days=10_000))


@given(instants, instants, instants, instants)
def test_intersection_is_contained_in_both(a: datetime, b: datetime, c: datetime,
                                           d: datetime) -> None:
    if not (a < b and c < d):
        return
    first, second = Period(a, b), Period(c, d)
    common = first.intersection(second)
    if common is None:
        assert b <= c or d <= a
    else:
        assert first.covers(common)
        assert second.covers(common)
        assert common == second.intersection(first)


def test_capped() -> None:
    assert Period(T, T + timedelta(days=30)).capped(timedelta(days=30))
    assert not Period(T).capped(timedelta(days=30))


def test_day_range_parsing_and_local_midnights() -> None:
    days = DayRange.parse("2026-03-28", "2026-03-30")
    assert days.days == 2
    period = days.to_period(ZoneInfo("Europe/Paris"))
    assert period.duration == timedelta(hours=47)  # spring forward
    assert period.capped(timedelta(hours=47))
    assert not period.capped(timedelta(hours=46))
    with pytest.raises(InvalidPeriod, match="YYYY-MM-DD"):
        DayRange.parse("2026-3-28", "2026-03-30")
    with pytest.raises(InvalidPeriod):
        DayRange(date(2026, 1, 2), date(2026, 1, 2))


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "2000-01-01"),
                                            ("2026-01-01", "9999-12-31")])
def test_day_ranges_stay_where_time_zones_work(start: str, end: str) -> None:
    with pytest.raises(InvalidPeriod, match="between 1900-01-01 and 9000-01-01"):
        DayRange.parse(start, end)


@pytest.mark.parametrize("text", ["2026-W01-1", "2026W011xx", "20260101  ", "2026-001-1",
                                  "２０２６-01-01", "2026-01-0\u0661"])
def test_days_are_written_yyyy_mm_dd_and_nothing_else(text: str) -> None:
    """``date.fromisoformat`` also reads week dates and other ISO 8601 forms (and, through
    ``int``, non-ASCII digits): the API's contract is ``YYYY-MM-DD`` in ASCII digits."""
    with pytest.raises(InvalidPeriod, match="YYYY-MM-DD"):
        DayRange.parse(text, "2026-02-01")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(8999, 12, 30)))
def test_every_yyyy_mm_dd_day_parses_to_itself(day: date) -> None:
    parsed = DayRange.parse(day.isoformat(), (day + timedelta(days=1)).isoformat())
    assert (parsed.start, parsed.days) == (day, 1)

"""Half-open periods and calendar day ranges."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.errors import DomainError, InvalidPeriod
from consent.periods import (
    DayRange,
    Period,
    day_from_text,
    instant_from_text,
    joined,
    span_at,
    years_before,
)

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


hours = st.integers(min_value=0, max_value=200)
periods = st.tuples(hours, st.integers(min_value=1, max_value=60) | st.none()).map(
    lambda p: Period(T + timedelta(hours=p[0]),
                     None if p[1] is None else T + timedelta(hours=p[0] + p[1])))


@given(st.lists(periods, max_size=8))
def test_joined_covers_the_same_instants_with_ordered_spans_that_neither_overlap_nor_touch(
        given_periods: list[Period]) -> None:
    spans = joined(given_periods)
    for hour in range(0, 270):
        at = T + timedelta(hours=hour, minutes=30)
        assert any(s.contains(at) for s in spans) == any(p.contains(at) for p in given_periods)
    for hour in range(0, 270):  # the bounds themselves: a touching pair leaves no seam
        at = T + timedelta(hours=hour)
        assert any(s.contains(at) for s in spans) == any(p.contains(at) for p in given_periods)
    for earlier, later in itertools.pairwise(spans):
        assert earlier.end is not None
        assert earlier.end < later.start  # a gap between any two: else they were one span


def test_a_renewal_that_touches_or_overlaps_joins_and_a_gap_does_not() -> None:
    day = timedelta(days=1)
    assert joined([Period(T + 5 * day, T + 9 * day), Period(T, T + 5 * day)]) == [
        Period(T, T + 9 * day)]
    assert joined([Period(T, T + 6 * day), Period(T + 2 * day, T + 4 * day)]) == [
        Period(T, T + 6 * day)]
    assert joined([Period(T, T + 2 * day), Period(T + day)]) == [Period(T)]
    assert joined([Period(T, T + day), Period(T + 2 * day, T + 3 * day)]) == [
        Period(T, T + day), Period(T + 2 * day, T + 3 * day)]
    assert joined([]) == []


def test_span_at_is_the_joined_span_in_force_else_the_latest() -> None:
    day = timedelta(days=1)
    grants = [Period(T + 4 * day, T + 9 * day), Period(T, T + 5 * day),
              Period(T + 20 * day, T + 30 * day)]
    assert span_at(grants, T + day) == Period(T, T + 9 * day)  # the renewal leaves no seam
    assert span_at(grants, T + 25 * day) == Period(T + 20 * day, T + 30 * day)
    assert span_at(grants, T + 12 * day) == Period(T + 20 * day, T + 30 * day)  # none: latest
    assert span_at([], T) is None


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


@pytest.mark.parametrize("text", ["2026-W01-1", "0001-01-01", "9999-12-31", "2026-02-30", ""])
def test_a_single_day_is_parsed_as_strictly_as_a_range(text: str) -> None:
    with pytest.raises(InvalidPeriod) as caught:
        day_from_text(text, "until")
    assert caught.value.extra["field"] == "until"


def test_instants_carry_their_offset() -> None:
    assert instant_from_text("2026-01-31T12:00:00+01:00", "at") == datetime(
        2026, 1, 31, 11, tzinfo=UTC)
    assert instant_from_text("2026-01-31T12:00:00Z", "at").utcoffset() == timedelta(0)


# Review 2: year 9999 at -14:00 (or year 1 at +14:00) overflowed when converted to UTC (500).
@pytest.mark.parametrize("value", [
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-01-31T12:00:00",
    "2026-W05-6T12:00:00+01:00", "20260131T120000Z", "２０２６-01-31T12:00:00Z", "tomorrow",
    "", 1769860800, None, ["2026-01-31T12:00:00Z"]])
def test_instants_out_of_range_naive_or_not_rfc_3339_are_a_400(value: object) -> None:
    with pytest.raises(DomainError) as caught:
        instant_from_text(value, "valid_until")
    assert (caught.value.status, caught.value.extra["field"]) == (400, "valid_until")


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(8999, 12, 31),
                    timezones=st.sampled_from([timezone(timedelta(minutes=m))
                                               for m in (0, 60, 330, 14 * 60, -14 * 60)])))
def test_every_rfc_3339_instant_in_range_parses_to_itself(instant: datetime) -> None:
    parsed = instant_from_text(instant.isoformat(), "at")
    assert parsed == instant
    assert parsed.utcoffset() == instant.utcoffset()


def test_years_before_is_calendar_years() -> None:
    at = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    assert years_before(at, 3) == datetime(2023, 11, 24, 10, 30, tzinfo=UTC)
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(2027, 2, 28,
                                                                           tzinfo=UTC)

"""Roll-ups on local calendar boundaries (DST days included), clamping and record cutting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from consent.aggregation import (
    bucket,
    clamp,
    cut_record,
    holds_whole,
    iter_days,
    reaches,
    roll_up,
    view,
)
from consent.errors import ResolutionUnavailable
from consent.identifiers import PointRef, Source
from consent.periods import DayRange, Period
from consent.readings import Quality, Reading, Record, Series
from consent.vocabulary import Dataset, Resolution

PARIS = ZoneInfo("Europe/Paris")
PRM = PointRef(Source.ENEDIS, "22516914714270")


def curve(first: date, last: date, dataset: Dataset = Dataset.CONSUMPTION_LOAD_CURVE,
          value: int | None = None, step: Resolution = Resolution.PT30M) -> Series:
    """Fixed-step readings from local midnight of ``first`` to local midnight of ``last``."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=PARIS).astimezone(UTC)
    end = datetime.combine(last, datetime.min.time(), tzinfo=PARIS).astimezone(UTC)
    readings, i = [], 0
    while start < end:
        nxt = start + step.nominal
        readings.append(Reading(start.astimezone(PARIS), nxt.astimezone(PARIS),
                                Decimal(value if value is not None else i % 97)))
        start, i = nxt, i + 1
    return Series(PRM, dataset, dataset.spec.unit or "", step, "Europe/Paris", tuple(readings))


def test_daily_sum_on_dst_days_has_23_and_25_hours() -> None:
    spring = roll_up(curve(date(2026, 3, 29), date(2026, 3, 30), Dataset.DAILY_CONSUMPTION, 1),
                     Resolution.P1D)
    autumn = roll_up(curve(date(2026, 10, 25), date(2026, 10, 26), Dataset.DAILY_CONSUMPTION, 1),
                     Resolution.P1D)
    assert [r.value for r in spring.readings] == [Decimal(46)]
    assert [r.value for r in autumn.readings] == [Decimal(50)]
    (day,) = autumn.readings
    assert day.start.isoformat() == "2026-10-25T00:00:00+02:00"
    assert day.end.isoformat() == "2026-10-26T00:00:00+01:00"
    assert autumn.resolution is Resolution.P1D


def test_average_is_time_weighted_and_max_is_the_peak() -> None:
    series = curve(date(2026, 1, 5), date(2026, 1, 6))
    values = [r.value for r in series.readings]
    (avg,) = roll_up(series, Resolution.P1D).readings
    assert avg.value == (sum(values, Decimal(0)) / 48).quantize(Decimal("0.001")).normalize()
    peak = Series(PRM, Dataset.DAILY_MAX_POWER, "VA", Resolution.PT30M, "Europe/Paris",
                  series.readings)
    (mx,) = roll_up(peak, Resolution.P1D).readings
    assert mx.value == max(values)


def test_register_is_read_at_the_end_of_the_bucket() -> None:
    series = curve(date(2026, 2, 1), date(2026, 3, 1), Dataset.CONSUMPTION_INDEX,
                   step=Resolution.PT1H)
    series = Series(PRM, Dataset.CONSUMPTION_INDEX, "Wh", Resolution.P1D, "Europe/Paris",
                    roll_up(curve(date(2026, 2, 1), date(2026, 3, 1), Dataset.DAILY_CONSUMPTION),
                            Resolution.P1D).readings)
    (month,) = roll_up(series, Resolution.P1M).readings
    assert month.value == series.readings[-1].value
    assert month.start.isoformat() == "2026-02-01T00:00:00+01:00"


def test_an_incomplete_bucket_is_left_out_not_guessed() -> None:
    series = curve(date(2026, 1, 5), date(2026, 1, 8), Dataset.DAILY_CONSUMPTION, 2)
    holed = Series(PRM, series.dataset, "Wh", series.resolution, series.timezone,
                   series.readings[:60] + series.readings[61:])
    days = roll_up(holed, Resolution.P1D).readings
    assert [d.start.date() for d in days] == [date(2026, 1, 5), date(2026, 1, 7)]
    assert all(d.value == 96 for d in days)


def test_quality_is_the_least_trustworthy() -> None:
    series = curve(date(2026, 1, 5), date(2026, 1, 6), Dataset.DAILY_CONSUMPTION, 1)
    readings = list(series.readings)
    readings[3] = Reading(readings[3].start, readings[3].end, Decimal(1), Quality.ESTIMATED)
    validated = [Reading(r.start, r.end, r.value, Quality.VALIDATED) for r in series.readings]
    mixed = Series(PRM, series.dataset, "Wh", series.resolution, series.timezone, tuple(readings))
    assert roll_up(mixed, Resolution.P1D).readings[0].quality is Quality.ESTIMATED
    clean = Series(PRM, series.dataset, "Wh", series.resolution, series.timezone, tuple(validated))
    assert roll_up(clean, Resolution.P1D).readings[0].quality is Quality.VALIDATED


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    daily = roll_up(curve(date(2026, 3, 2), date(2026, 5, 4), Dataset.DAILY_CONSUMPTION, 1),
                    Resolution.P1D)
    weeks = roll_up(daily, Resolution.P1W).readings
    assert all(w.start.weekday() == 0 for w in weeks)
    assert [w.value for w in weeks][3] == 7 * 48 - 2  # the week of the spring DST change
    months = roll_up(daily, Resolution.P1M).readings
    assert [m.start.date() for m in months] == [date(2026, 4, 1)]  # March starts on the 2nd


def test_hourly_from_half_hourly() -> None:
    hours = roll_up(curve(date(2026, 3, 29), date(2026, 3, 30), Dataset.DAILY_CONSUMPTION, 5),
                    Resolution.PT1H).readings
    assert len(hours) == 23
    assert {h.value for h in hours} == {Decimal(10)}


def test_finer_than_the_data_is_refused() -> None:
    daily = roll_up(curve(date(2026, 1, 5), date(2026, 1, 6)), Resolution.P1D)
    with pytest.raises(ResolutionUnavailable):
        roll_up(daily, Resolution.PT30M)
    assert roll_up(daily, Resolution.P1D) is daily


@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 1)),
       st.integers(min_value=1, max_value=40))
def test_daily_sums_add_up_to_the_total(first: date, days: int) -> None:
    series = curve(first, first + timedelta(days=days), Dataset.DAILY_CONSUMPTION)
    daily = roll_up(series, Resolution.P1D)
    assert len(daily.readings) == days
    assert sum(r.value for r in daily.readings) == sum(r.value for r in series.readings)
    assert all(r.start.hour == 0 and r.end.hour == 0 for r in daily.readings)


@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 1)),
       st.integers(min_value=0, max_value=9), st.integers(min_value=1, max_value=5))
def test_clamp_keeps_exactly_the_window(first: date, skip: int, keep: int) -> None:
    series = roll_up(curve(first, first + timedelta(days=15), Dataset.DAILY_CONSUMPTION),
                     Resolution.P1D)
    window = DayRange(first + timedelta(days=skip),
                      first + timedelta(days=skip + keep)).to_period(PARIS)
    kept = clamp(series, window).readings
    assert len(kept) == keep
    assert kept[0].start == window.start
    assert kept[-1].end == window.end
    assert view(curve(first, first + timedelta(days=15), Dataset.DAILY_CONSUMPTION), window,
                Resolution.P1D).readings == kept


def test_bucket_and_iter_days() -> None:
    instant = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET/CEST local, ambiguous hour
    start, end = bucket(instant, Resolution.P1D, PARIS)
    assert end - start == timedelta(hours=25)
    window = Period(datetime(2026, 1, 1, tzinfo=PARIS), datetime(2026, 1, 4, tzinfo=PARIS))
    assert list(iter_days(window, PARIS)) == [date(2026, 1, 1), date(2026, 1, 2),
                                              date(2026, 1, 3)]


def test_cut_record_keeps_released_fields_in_dataset_order() -> None:
    record = Record(PRM, Dataset.IDENTITY, {"lastname": "Dupont", "firstname": "Ana",
                                            "title": "Mme", "siret_number": None})
    cut = cut_record(record, {"lastname", "title", "not-a-field"})
    assert list(cut.fields) == ["title", "lastname"]
    assert cut.fields == {"title": "Mme", "lastname": "Dupont"}


_FALL_BACK = datetime(2026, 10, 25, tzinfo=UTC)  # 03:00+02:00 -> 02:00+01:00 in Paris
_LOCAL = st.integers(-6 * 60, 6 * 60).map(
    lambda minutes: (_FALL_BACK + timedelta(minutes=minutes)).astimezone(PARIS))


@given(st.lists(st.tuples(_LOCAL, st.integers(1, 90)), max_size=12), _LOCAL,
       st.none() | st.integers(1, 600))
def test_clamp_is_covers_for_each_reading_across_the_night_clocks_go_back(
        spans: list[tuple[datetime, int]], start: datetime, length: int | None) -> None:
    # Paris wall times on either side of the repeated hour: comparing them without UTC is
    # wrong there, which is what clamp's shortcut must not do.
    readings = tuple(sorted((Reading(at, (at.astimezone(UTC) + timedelta(minutes=m))
                                     .astimezone(PARIS), Decimal(1)) for at, m in spans),
                            key=lambda r: r.start.astimezone(UTC)))
    window = Period(start, None if length is None else
                    (start.astimezone(UTC) + timedelta(minutes=length)).astimezone(PARIS))
    series = Series(PRM, Dataset.CONSUMPTION_LOAD_CURVE, "W", Resolution.PT30M, "Europe/Paris",
                    readings)
    assert clamp(series, window).readings == tuple(
        r for r in readings if window.covers(Period(r.start, r.end)))
    start_utc, end_utc = window.utc_bounds()
    assert all(window.contains(r.start) == (start_utc <= r.start.astimezone(UTC)
                                            and (end_utc is None or r.start < end_utc))
               for r in readings)


def test_a_step_that_does_not_divide_the_target_is_refused() -> None:
    """PT10M readings cannot be summed into exact PT15M intervals: refused with what the data
    has, instead of a 200 with every interval dropped (an empty series is not the truth)."""
    ten = curve(date(2026, 1, 5), date(2026, 1, 6), Dataset.DAILY_CONSUMPTION, 2,
                step=Resolution.PT10M)
    with pytest.raises(ResolutionUnavailable) as refused:
        roll_up(ten, Resolution.PT15M)
    assert refused.value.extra["available"] == "PT10M"
    assert refused.value.extra["reachable"] == ["PT10M", "PT30M", "PT1H", "P1D", "P1W", "P1M",
                                                "P1Y"]
    assert {r.value for r in roll_up(ten, Resolution.PT30M).readings} == {Decimal(6)}
    assert len(roll_up(ten, Resolution.PT1H).readings) == 24
    assert len(roll_up(ten, Resolution.P1D).readings) == 1


def test_weeks_make_nothing_coarser() -> None:
    """Weeks straddle months and years; days and months tile what is coarser."""
    assert not reaches(Resolution.P1W, Resolution.P1M)
    assert not reaches(Resolution.P1W, Resolution.P1Y)
    assert reaches(Resolution.P1D, Resolution.P1W)
    assert reaches(Resolution.P1M, Resolution.P1Y)
    assert not reaches(Resolution.P1M, Resolution.P1D)
    weeks = roll_up(roll_up(curve(date(2026, 3, 2), date(2026, 5, 4), Dataset.DAILY_CONSUMPTION,
                                  1), Resolution.P1D), Resolution.P1W)
    with pytest.raises(ResolutionUnavailable):
        roll_up(weeks, Resolution.P1M)


@given(st.sampled_from([Resolution.PT10M, Resolution.PT15M, Resolution.PT30M, Resolution.PT1H]),
       st.sampled_from([r for r in Resolution if not r.finer_than(Resolution.PT10M)
                        and r.nominal <= timedelta(days=1)]))
def test_a_roll_up_of_a_whole_day_is_whole_or_refused(step: Resolution,
                                                      target: Resolution) -> None:
    """A complete (DST) day rolls up to intervals holding every reading, or is refused; never
    to a partial or empty series."""
    day = curve(date(2026, 3, 29), date(2026, 3, 30), Dataset.DAILY_CONSUMPTION, 1, step=step)
    if target.finer_than(step) or target.nominal % step.nominal:
        with pytest.raises(ResolutionUnavailable) as refused:
            roll_up(day, target)
        assert target.value not in refused.value.extra["reachable"]
        assert step.value in refused.value.extra["reachable"]
        return
    rolled = roll_up(day, target)
    assert rolled.readings
    assert sum(r.value for r in rolled.readings) == len(day.readings)
    assert rolled.readings[0].start == day.readings[0].start
    assert rolled.readings[-1].end == day.readings[-1].end


OFFSETS = st.sampled_from([PARIS, UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=2)),
                           timezone(timedelta(hours=-5))])


#: The night the clocks go back in Paris: 02:00 to 03:00 happens twice.
NIGHT = st.datetimes(min_value=datetime(2026, 10, 25, 1, 30),
                    max_value=datetime(2026, 10, 25, 3, 30))


@example(datetime(2026, 10, 25, 2, 40), datetime(2026, 10, 25, 2, 20), PARIS, PARIS,
         False, True)  # after by the wall clock, before in UTC: a good reading
@example(datetime(2026, 10, 25, 2, 20), datetime(2026, 10, 25, 2, 40), PARIS, PARIS,
         True, False)  # before by the wall clock, after in UTC: refused
@given(NIGHT, NIGHT, OFFSETS, OFFSETS, st.booleans(), st.booleans())
def test_a_reading_ends_after_it_starts_in_utc(start: datetime, end: datetime,
                                                start_zone: timezone, end_zone: timezone,
                                                start_fold: bool, end_fold: bool) -> None:
    """Whatever the zones (one ZoneInfo, fixed offsets, a mix) and the fold on the night the
    clocks go back, a reading holds exactly when its end is after its start in UTC."""
    first = start.replace(tzinfo=start_zone, fold=int(start_fold))
    last = end.replace(tzinfo=end_zone, fold=int(end_fold))
    if first.astimezone(UTC) < last.astimezone(UTC):
        assert Reading(first, last, Decimal(1)).end is last
    else:
        with pytest.raises(ValueError, match="end must be after its start"):
            Reading(first, last, Decimal(1))


@given(NIGHT, NIGHT, OFFSETS, st.booleans())
def test_clamp_keeps_what_the_window_covers_across_the_night_clocks_go_back(
        start: datetime, end: datetime, zone: timezone, fold: bool) -> None:
    """Readings in Paris time (one ZoneInfo: wall-clock comparisons are wrong that night)
    against a window in any zone: clamp keeps exactly those the window covers."""
    series = curve(date(2026, 10, 24), date(2026, 10, 26))
    first, last = sorted([start.replace(tzinfo=zone, fold=int(fold)), end.replace(tzinfo=zone)],
                         key=lambda d: d.astimezone(UTC))
    if first.astimezone(UTC) == last.astimezone(UTC):
        return
    window = Period(first, last)
    assert clamp(series, window).readings == tuple(
        r for r in series.readings if window.covers(Period(r.start, r.end)))


_CALENDAR = st.sampled_from([Resolution.P1D, Resolution.P1W, Resolution.P1M, Resolution.P1Y])


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
       st.integers(min_value=1, max_value=800), _CALENDAR)
def test_holds_whole_says_if_some_interval_fits_in_the_days(first: date, days: int,
                                                            resolution: Resolution) -> None:
    window = DayRange(first, first + timedelta(days=days))
    period = window.to_period(PARIS)
    assert period.end is not None
    fits = any(bucket(datetime.combine(first + timedelta(days=n), datetime.min.time(),
                                       tzinfo=PARIS), resolution, PARIS)[0] >= period.start
               and bucket(datetime.combine(first + timedelta(days=n), datetime.min.time(),
                                           tzinfo=PARIS), resolution, PARIS)[1] <= period.end
               for n in range(days))
    assert holds_whole(window, resolution) is fits


def test_gas_days_make_whole_weeks_from_monday_six_to_monday_six() -> None:
    """Gas days run 06:00 to 06:00 and belong to the date they start on: a week of them is
    a whole week (found by review: every bucket was dropped as reaching past midnight)."""
    monday = date(2026, 11, 2)
    days = [monday + timedelta(days=n) for n in range(10)]
    six = [datetime.combine(d, datetime.min.time(), tzinfo=PARIS).replace(hour=6)
           for d in [*days, days[-1] + timedelta(days=1)]]
    gas = Series(PointRef(Source.GRDF, "GI000001"), Dataset.DAILY_CONSUMPTION, "Wh",
                 Resolution.P1D, "Europe/Paris",
                 tuple(Reading(six[n], six[n + 1], Decimal(n + 1)) for n in range(10)))
    (week,) = roll_up(gas, Resolution.P1W).readings  # the second week is not whole
    assert (week.start, week.end) == (six[0], six[7])
    assert week.value == sum(Decimal(n + 1) for n in range(7))


def test_one_calendar_day_of_a_gas_curve_rolls_up_to_one_value() -> None:
    """A gas curve's roll-ups run midnight to midnight, like the window asked (found by the
    session's last review: rolled up on 06:00 gas days, one day asked gave no value at all,
    its hours after midnight being the next date's)."""
    day = date(2026, 11, 10)
    hourly = curve(day, day + timedelta(days=1), value=2, step=Resolution.PT1H)
    gas = Series(PointRef(Source.GRDF, "GI000001"), hourly.dataset, hourly.unit,
                 hourly.resolution, hourly.timezone, hourly.readings)
    (daily,) = roll_up(gas, Resolution.P1D).readings
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=PARIS)
    assert (daily.start, daily.end) == (midnight, midnight + timedelta(days=1))

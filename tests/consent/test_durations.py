"""consent.durations: the native and Data Connect grammars, one calendar count."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from consent.durations import FAR, calendar_days, parse_data_connect, parse_one_unit
from consent.periods import add_months

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(today=DAYS, count=st.integers(1, 9999), unit=st.sampled_from("DWMY"))
def test_the_two_grammars_agree_on_one_unit(today: date, count: int, unit: str) -> None:
    text = f"P{count}{unit}"
    assert parse_one_unit(text, today) == parse_data_connect(text, today)


@given(today=DAYS, count=st.integers(1, 9999), unit=st.sampled_from("MY"))
def test_months_and_years_never_fall_off_the_calendar(today: date, count: int,
                                                       unit: str) -> None:
    """P9999Y from 2026 lands past year 9999: add_months raised ValueError, a 500 on the
    authorization endpoint. Such a span is FAR (past every cap), forwards and backwards."""
    months = count * (12 if unit == "Y" else 1)
    for back in (False, True):
        days = parse_one_unit(f"P{count}{unit}", today, back=back)
        assert days is not None
        assert days > 0
        if months > 1200:
            assert days == FAR
        else:
            end = add_months(today, -months if back else months)
            assert days == abs((end - today).days)


def test_backwards_the_leap_day_is_the_one_behind() -> None:
    assert calendar_days(date(2029, 3, 1), months=12, back=True) == 365
    assert calendar_days(date(2028, 3, 1), months=12, back=True) == 366
    assert calendar_days(date(2028, 3, 1), months=12) == 365


def test_malformed_or_zero_is_none() -> None:
    today = date(2026, 11, 24)
    for text in ("P0D", "P", "1Y", "P1.5Y", "P١Y", "PT1H", "P1Y ", "P12345D"):
        assert parse_one_unit(text, today) is None, text
    assert parse_one_unit(None, today) is None
    for text in ("P0Y0M", "P", "PT1H", "P1Y1D1M", "P١D"):
        assert parse_data_connect(text, today) is None, text
    assert parse_data_connect("P1Y4M2W1D", today) == (
        add_months(today, 16) + timedelta(days=15) - today).days

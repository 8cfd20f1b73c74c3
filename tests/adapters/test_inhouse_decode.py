"""Strict decoding: a value that is not a plain non-negative decimal string never gets through."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.errors import UpstreamMalformed
from adapters.inhouse import parse
from adapters.inhouse.decode import Doc
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.vocabulary import Dataset, Resolution

POINT = PointRef(Source.ENEDIS, "22516914714270")
PLAIN = re.compile(r"[0-9]{1,15}(\.[0-9]{1,6})?")


@given(st.one_of(st.text(max_size=20), st.floats(), st.integers(), st.none()))
def test_meter_values_are_plain_decimal_strings(value: object) -> None:
    doc = Doc({"values": [{"value": value}]})["values"].items()[0]["value"]
    if isinstance(value, str) and PLAIN.fullmatch(value):
        assert doc.meter_value() == Decimal(value)
    else:
        with pytest.raises(UpstreamMalformed) as caught:
            doc.meter_value()
        assert caught.value.field == "values[0].value"


def series_body(**reading: object) -> dict[str, object]:
    value = {"start": "2026-10-10T00:00:00+02:00", "end": "2026-10-11T00:00:00+02:00",
             "value": "5120", "quality": "raw", **reading}
    return {"point": str(POINT), "dataset": "daily_consumption", "unit": "Wh",
            "resolution": "P1D", "timezone": "Europe/Paris", "values": [value]}


PERIOD = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 14, tzinfo=UTC))


@pytest.mark.parametrize(("reading", "field"), [
    ({"value": "null"}, "values[0].value"),
    ({"value": "-3"}, "values[0].value"),
    ({"value": 5120}, "values[0].value"),
    ({"start": "2026-10-10 00:00:00"}, "values[0].start"),
    ({"end": "2026-10-10T12:00:00+02:00"}, "values[0].end"),
    ({"start": "2026-09-10T00:00:00+02:00", "end": "2026-09-11T00:00:00+02:00"},
     "values[0].start"),
    ({"quality": "great"}, "values[0].quality"),
])
def test_series_deviations_name_the_member(reading: dict[str, object], field: str) -> None:
    with pytest.raises(UpstreamMalformed) as caught:
        parse.readings(Doc(series_body(**reading)), POINT, Dataset.DAILY_CONSUMPTION,
                       Resolution.P1D, PERIOD)
    assert caught.value.field == field


@pytest.mark.parametrize(("change", "field"), [
    ({"point": "enedis:11453290002823"}, "point"),
    ({"unit": "kWh"}, "unit"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"values": {}}, "values"),
])
def test_series_envelope_is_checked(change: dict[str, object], field: str) -> None:
    with pytest.raises(UpstreamMalformed) as caught:
        parse.readings(Doc({**series_body(), **change}), POINT, Dataset.DAILY_CONSUMPTION,
                       Resolution.P1D, PERIOD)
    assert caught.value.field == field


def test_a_good_series_parses() -> None:
    zone, readings = parse.readings(Doc(series_body()), POINT, Dataset.DAILY_CONSUMPTION,
                                    Resolution.P1D, PERIOD)
    assert zone == "Europe/Paris"
    assert readings[0].value == Decimal(5120)


def _day(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end, "value": "1", "quality": "raw"}


@pytest.mark.parametrize(("values", "field", "says"), [
    # The period is [2026-10-01T00:00Z, 2026-10-14T00:00Z): a day starting at its end is out.
    ([_day("2026-10-14T02:00:00+02:00", "2026-10-15T02:00:00+02:00")], "values[0].start",
     "inside the requested period"),
    ([_day("2026-09-30T23:59:59+00:00", "2026-10-01T23:59:59+00:00")], "values[0].start",
     "inside the requested period"),
    ([_day("2026-10-10T00:00:00+02:00", "2026-10-11T00:00:00+02:00"),
      _day("2026-10-10T12:00:00+02:00", "2026-10-11T12:00:00+02:00")], "values[1].start",
     "in order and without overlap"),
    ([_day("2026-10-11T00:00:00+02:00", "2026-10-12T00:00:00+02:00"),
      _day("2026-10-10T00:00:00+02:00", "2026-10-11T00:00:00+02:00")], "values[1].start",
     "in order and without overlap"),
    ([_day("2026-10-10T00:00:00+02:00", "2026-10-10T22:00:00+02:00")], "values[0].end",
     "P1D interval"),
])
def test_readings_outside_the_period_out_of_order_or_of_the_wrong_length_are_refused(
        values: list[dict[str, str]], field: str, says: str) -> None:
    with pytest.raises(UpstreamMalformed, match=says) as caught:
        parse.readings(Doc({**series_body(), "values": values}), POINT,
                       Dataset.DAILY_CONSUMPTION, Resolution.P1D, PERIOD)
    assert caught.value.field == field


def test_the_days_the_clocks_change_are_days_of_23_and_25_hours() -> None:
    spring, autumn = (_day("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
                      _day("2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"))
    year = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    _, readings = parse.readings(Doc({**series_body(), "values": [spring, autumn]}), POINT,
                                 Dataset.DAILY_CONSUMPTION, Resolution.P1D, year)
    assert [r.end - r.start for r in readings] == [timedelta(hours=23), timedelta(hours=25)]
    # A fixed step is exactly its length, even across the change.
    curve: dict[str, Any] = {**series_body(), "dataset": "consumption_load_curve", "unit": "W",
             "resolution": "PT30M", "values": [
                 _day("2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00"),
                 _day("2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00")]}
    _, readings = parse.readings(Doc(curve), POINT, Dataset.CONSUMPTION_LOAD_CURVE,
                                 Resolution.PT30M, year)
    assert len(readings) == 2
    curve["values"][1] = _day("2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00")
    with pytest.raises(UpstreamMalformed, match="PT30M interval"):
        parse.readings(Doc(curve), POINT, Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M,
                       year)


def test_records_refuse_unknown_members() -> None:
    body = {"point": str(POINT), "dataset": "contact",
            "fields": {"email": "a@example.org", "phone": None, "iban": "FR76..."}}
    with pytest.raises(UpstreamMalformed) as caught:
        parse.record(Doc(body), POINT, Dataset.CONTACT)
    assert caught.value.field == "fields.iban"


def _walked(body: dict[str, object]) -> list[Any] | str:
    """The member-by-member walk alone (the fast path disabled): readings or the field named."""
    original = parse._plain_readings
    parse._plain_readings = lambda *args: None  # type: ignore[assignment]
    try:
        return parse.readings(Doc(body), POINT, Dataset.DAILY_CONSUMPTION, Resolution.P1D,
                              PERIOD)[1]
    except UpstreamMalformed as error:
        return str(error.field)
    finally:
        parse._plain_readings = original  # type: ignore[assignment]


MEMBER_VALUES = st.one_of(
    st.sampled_from(["2026-10-10T00:00:00+02:00", "2026-10-11T00:00:00+02:00",
                     "2026-10-12T00:00:00+02:00", "2026-10-11T00:00:00+01:00",
                     "2026-10-11T00:00:00", "", "2026-10-11", "5120", "0.5", "-1", "1e3",
                     "raw", "validated", "estimated", "RAW"]),
    st.integers(-2, 2), st.none(), st.just([]), st.just({}))


def _paris_midnight(n: int) -> str:
    return f"2026-10-{n:02d}T00:00:00+02:00"


@st.composite
def series_values(draw: st.DrawFn) -> list[dict[str, object]]:
    """Consecutive good days, then maybe one member of one of them changed or dropped."""
    first, count = draw(st.integers(1, 12)), draw(st.integers(0, 3))
    items: list[dict[str, object]] = [
        {"start": _paris_midnight(first + i), "end": _paris_midnight(first + i + 1),
         "value": str(100 + i), "quality": draw(st.sampled_from(["raw", "validated", "estimated"]))}
        for i in range(count)]
    if items and draw(st.booleans()):
        item = draw(st.sampled_from(items))
        member = draw(st.sampled_from(["start", "end", "value", "quality"]))
        if draw(st.booleans()):
            del item[member]
        else:
            item[member] = draw(MEMBER_VALUES)
    return items


@given(series_values())
def test_the_fast_path_and_the_walk_agree(items: list[dict[str, object]]) -> None:
    """Whatever the DSO sends, the plain loop yields exactly the walk's readings, or gives way
    to it (which then names the deviation): speed never changes what is accepted."""
    body = {**series_body(), "values": items}
    walked = _walked(body)
    try:
        fast: list[Any] | str = parse.readings(Doc(body), POINT, Dataset.DAILY_CONSUMPTION,
                                               Resolution.P1D, PERIOD)[1]
    except UpstreamMalformed as error:
        fast = str(error.field)
    assert fast == walked
    if isinstance(walked, list):
        assert parse._plain_readings(items, parse._DAY_LENGTHS, *PERIOD.utc_bounds()) == walked

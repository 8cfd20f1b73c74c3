"""Strict decoding: a value that is not a plain non-negative decimal string never gets through."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

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


def test_records_refuse_unknown_members() -> None:
    body = {"point": str(POINT), "dataset": "contact",
            "fields": {"email": "a@example.org", "phone": None, "iban": "FR76..."}}
    with pytest.raises(UpstreamMalformed) as caught:
        parse.record(Doc(body), POINT, Dataset.CONTACT)
    assert caught.value.field == "fields.iban"

"""Metering-point identifiers per source (domain.md "Identifiers")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.errors import InvalidIdentifier, UnknownVocabulary
from consent.identifiers import PointRef, Source, gs1_check_digit, guess_source

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def valid_eans(draw: st.DrawFn) -> str:
    body = "54" + draw(st.text(alphabet="0123456789", min_size=15, max_size=15))
    return body + str(gs1_check_digit(body))


@given(valid_eans())
def test_a_generated_ean_with_its_check_digit_is_accepted(ean: str) -> None:
    assert PointRef(Source.BE_EAN, ean).identifier == ean
    assert PointRef(Source.INHOUSE, ean).identifier == ean
    assert guess_source(ean) is None  # be_ean or inhouse: ambiguous on its own


@given(valid_eans(), st.integers(min_value=0, max_value=17), st.integers(1, 9))
def test_any_single_digit_change_is_rejected(ean: str, position: int, shift: int) -> None:
    changed = str((int(ean[position]) + shift) % 10)
    mutated = ean[:position] + changed + ean[position + 1:]
    with pytest.raises(InvalidIdentifier):
        PointRef(Source.BE_EAN, mutated)


def test_known_ean_check_digits() -> None:
    # GS1's own example GTIN-13 body 629104150021 -> check digit 3.
    assert gs1_check_digit("629104150021") == 3
    assert PointRef.parse("be_ean:541449100000001236").source is Source.BE_EAN
    with pytest.raises(InvalidIdentifier, match="expected 6"):
        PointRef.parse("be_ean:541449100000001230")


@given(st.text(alphabet="0123456789", min_size=14, max_size=14))
def test_any_fourteen_digits_are_a_prm_and_a_pce(number: str) -> None:
    assert PointRef(Source.ENEDIS, number).identifier == number
    assert PointRef(Source.GRDF, number).identifier == number
    assert guess_source(number) is None  # ambiguous on its own


@pytest.mark.parametrize(("source", "identifier"), [
    (Source.ENEDIS, "2251691471427"),  # 13 digits
    (Source.ENEDIS, "225169147142700"),  # 15 digits
    (Source.ENEDIS, "2251691471427A"),
    (Source.ENEDIS, " 22516914714270"),
    (Source.GRDF, "GI12345"),
    (Source.GRDF, "gi123456"),
    (Source.GRDF, "GI1234567"),
    (Source.BE_EAN, "641449100000001236"),  # not Belgian
    (Source.BE_EAN, "54144910000000123"),  # 17 digits
])
def test_malformed_identifiers_are_rejected_with_a_sentence(source: Source,
                                                             identifier: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        PointRef(source, identifier)
    assert identifier in caught.value.detail
    assert caught.value.status == 400


def test_old_gazpar_pce_format() -> None:
    assert str(PointRef.parse("grdf:GI060511")) == "grdf:GI060511"
    assert guess_source("GI060511") is Source.GRDF


def test_text_form_needs_a_known_source() -> None:
    with pytest.raises(InvalidIdentifier, match="source:identifier"):
        PointRef.parse("22516914714270")
    with pytest.raises(UnknownVocabulary):
        PointRef.parse("ores:541449100000001236")

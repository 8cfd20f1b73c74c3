"""Whole numbers read from text: ASCII digits only, bounded length (review 2: ``"²"`` and a
5000-digit value passed ``str.isdigit`` and made ``int`` raise, a 500)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.errors import DomainError
from consent.numbers import MAX_DIGITS, whole_in, whole_number


@pytest.mark.parametrize("text", ["²", "１", "\u0661", "9" * 5000, "9" * (MAX_DIGITS + 1),
                                  "-1", "+1", " 1", "1 ", "1_000", "1e3", "0x1", ""])
def test_only_ascii_digits_of_bounded_length_are_numbers(text: str) -> None:
    assert whole_number(text) is None
    assert whole_number(text.encode()) is None
    with pytest.raises(DomainError) as caught:
        whole_in(text, "limit", low=0, high=10)
    assert (caught.value.status, caught.value.extra["field"]) == (400, "limit")


def test_the_bounds_are_checked() -> None:
    assert whole_in("007", "limit", low=1, high=10) == 7
    assert whole_number("12345", max_digits=4) is None
    for text in ("0", "11"):
        with pytest.raises(DomainError, match="from 1 to 10"):
            whole_in(text, "limit", low=1, high=10)


@given(st.integers(min_value=0, max_value=10**MAX_DIGITS - 1))
def test_every_number_in_range_reads_back(n: int) -> None:
    assert whole_number(str(n)) == n == whole_number(str(n).encode())

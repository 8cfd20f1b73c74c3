"""Whole numbers written as text (query strings, form fields, headers): ASCII digits only.

``str.isdigit`` is true for ``"²"``, ``"１"`` and other Unicode digits that ``int`` refuses or
reads differently, and ``int`` refuses strings of more than 4300 digits: ``isdigit`` then
``int`` was a 500 in several places (review 2). Every number read from text goes through
:func:`whole_number` (``None`` when it is not one) or :func:`whole_in` (a
:class:`~consent.errors.DomainError`, 400, naming the field).
"""

from __future__ import annotations

from consent.errors import DomainError

#: At most 18 digits: below 2**63 (a BIGINT column), far below ``int``'s string limit.
MAX_DIGITS = 18


def whole_number(text: str | bytes, *, max_digits: int = MAX_DIGITS) -> int | None:
    """``text`` as an ``int`` if it is 1 to ``max_digits`` ASCII digits (no sign, space,
    underscore or exponent), else ``None``."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def whole_in(text: str, field: str, *, low: int, high: int) -> int:
    """``text`` as a whole number within ``[low, high]``, else a :class:`DomainError` (400)
    naming ``field``."""
    value = whole_number(text)
    if value is None or not low <= value <= high:
        raise DomainError(f"{field} must be a whole number from {low} to {high}.", field=field)
    return value

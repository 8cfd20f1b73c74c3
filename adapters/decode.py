"""Strict reading of upstream answers: every deviation is an :class:`UpstreamMalformed`.

:class:`Doc` walks a decoded JSON document and remembers where it is, so the error names the
offending member (``values[3].value``). Values are read from decimal strings only: a float,
``"null"``, ``"NaN"``, an exponent or a negative meter value is refused, never passed on.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.errors import UpstreamMalformed
from consent.periods import Period

E = TypeVar("E", bound=Enum)

_DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,6})?")
#: The largest exponent :meth:`Doc.number` accepts: what a meter value written as text may be
#: (15 digits before the point), so that no arithmetic on it (kWh to Wh) can overflow.
_MAX_ADJUSTED = 14


def json_value(raw: bytes | str, *, exact: bool = False) -> Any:
    """The JSON value of ``raw`` (numbers with a fraction as :class:`~decimal.Decimal` when
    ``exact``), or :class:`ValueError`, whatever is wrong with it: nesting too deep for the
    interpreter's stack (a ``RecursionError``, which ``json`` raises for ``[[[...``) included,
    so that a DSO's body cannot escape its adapter's error tree."""
    try:
        return json.loads(raw, parse_float=Decimal) if exact else json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


def is_meter_value(value: object) -> bool:
    """True for what :meth:`Doc.meter_value` accepts: a non-negative decimal string."""
    return type(value) is str and _DECIMAL.fullmatch(value) is not None


class Doc:
    """A position in a JSON document; accessors check the type and name the path on failure.

    A child remembers its parent and its key, and spells its path (``values[3].start``) only
    when asked, on failure: a curve's answer has thousands of positions, nearly all valid.
    """

    __slots__ = ("_key", "_parent", "_path", "value")

    def __init__(self, value: Any, path: str = "") -> None:
        self.value = value
        self._path: str | None = path
        self._parent: Doc | None = None
        self._key: str | int = ""

    @classmethod
    def _child(cls, value: Any, parent: Doc, key: str | int) -> Doc:
        child = cls.__new__(cls)
        child.value, child._path, child._parent, child._key = value, None, parent, key
        return child

    @property
    def path(self) -> str:
        """Where this position is (``""`` for the document itself)."""
        if self._path is None:
            assert self._parent is not None  # only children are built without a path
            parent, key = self._parent.path, self._key
            self._path = (f"{parent}[{key}]" if isinstance(key, int)
                          else f"{parent}.{key}" if parent else key)
        return self._path

    def fail(self, expected: str) -> UpstreamMalformed:
        """The error for this position (to ``raise``)."""
        where = self.path or "body"
        shown = type(self.value).__name__ if not isinstance(self.value, str | int) else \
            repr(self.value)[:40]
        return UpstreamMalformed(f"The DSO's answer has {where} = {shown}; expected {expected}.",
                                 field=where)

    def __getitem__(self, name: str) -> Doc:
        if not isinstance(self.value, dict):
            raise self.fail("an object")
        if name not in self.value:
            child = Doc._child(None, self, name).path
            raise UpstreamMalformed(f"The DSO's answer lacks {child}.", field=child)
        return Doc._child(self.value[name], self, name)

    def get(self, name: str) -> Doc:
        """Member ``name`` of an object, or ``None`` at that path when it is absent."""
        if not isinstance(self.value, dict):
            raise self.fail("an object")
        return Doc._child(self.value.get(name), self, name)

    @property
    def is_null(self) -> bool:
        """True for JSON ``null`` (or an absent member read with :meth:`get`)."""
        return self.value is None

    def items(self) -> list[Doc]:
        """The elements of a JSON array."""
        if not isinstance(self.value, list):
            raise self.fail("an array")
        return [Doc._child(v, self, i) for i, v in enumerate(self.value)]

    def text(self) -> str:
        if not isinstance(self.value, str) or not self.value:
            raise self.fail("a non-empty string")
        return self.value

    def optional_text(self) -> str | None:
        return None if self.value is None else self.text()

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.fail("true or false")
        return self.value

    def integer(self, minimum: int = 0) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int) or \
                self.value < minimum:
            raise self.fail(f"an integer >= {minimum}")
        return self.value

    def optional_integer(self, minimum: int = 0) -> int | None:
        return None if self.value is None else self.integer(minimum)

    def equals(self, expected: str) -> str:
        if self.value != expected:
            raise self.fail(repr(expected))
        return expected

    def enum(self, kind: type[E]) -> E:
        try:
            return kind(self.value)
        except ValueError:
            raise self.fail("one of " + ", ".join(str(m.value) for m in kind)) from None

    def meter_value(self) -> Decimal:
        """A non-negative decimal written as a string (``"4078"``, ``"12.5"``)."""
        if not is_meter_value(self.value):
            raise self.fail("a non-negative decimal string")
        return Decimal(self.value)

    def number(self) -> Decimal:
        """A non-negative JSON number, decoded exactly (parse floats as ``Decimal``)."""
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise self.fail("a number")
        number = Decimal(value)
        if not number.is_finite() or number < 0 or \
                (number and number.adjusted() > _MAX_ADJUSTED):
            raise self.fail("a non-negative number below 10^15")
        return number

    def day(self) -> date:
        """A calendar day written ``YYYY-MM-DD`` (RFC 3339 full-date)."""
        text = self.text()
        try:
            if len(text) != 10:
                raise ValueError(text)
            return date.fromisoformat(text)
        except ValueError:
            raise self.fail("a date YYYY-MM-DD") from None

    def instant(self) -> datetime:
        """An RFC 3339 instant with its UTC offset."""
        try:
            value = datetime.fromisoformat(self.text())
        except ValueError:
            raise self.fail("an RFC 3339 instant") from None
        if value.tzinfo is None:
            raise self.fail("an instant with a UTC offset")
        return value

    def optional_instant(self) -> datetime | None:
        return None if self.value is None else self.instant()

    def zone(self) -> str:
        """An IANA timezone name."""
        name = self.text()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("an IANA timezone") from None
        return name

    def period(self) -> Period:
        """``{"start", "end"}`` with ``end`` null for an open period."""
        start, end = self["start"].instant(), self["end"].optional_instant()
        if end is not None and not start < end:
            raise self["end"].fail("an end after the start")
        return Period(start, end)

    def optional_period(self) -> Period | None:
        return None if self.value is None else self.period()

"""Data Connect values -> :class:`~consent.readings.Reading`, the same for v5 and 2026.

* Values are strings; the string ``"null"`` (seen in real answers) means "no measure" and
  becomes a gap, never a zero. Anything else that is not a non-negative decimal string is
  :class:`~adapters.errors.UpstreamMalformed` naming the member.
* A load-curve point is dated at the END of its interval, in local time without offset. The
  interval is ``[end - step, end)``; on the night clocks go back the same text appears twice and
  the order of the points tells which is which (:func:`adapters.timekeeping.resolve_local`).
* Every reading must lie inside the requested days, in order, without overlap: a DSO answering
  outside the question is malformed too, because passing it on would be a wrong number.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from adapters.decode import Doc
from adapters.errors import UnsupportedResolution
from adapters.timekeeping import at_hour, fixed, resolve_local
from consent.errors import UnknownVocabulary
from consent.readings import Quality, Reading
from consent.vocabulary import Resolution

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
_CURVE_STEPS = {Resolution.PT10M, Resolution.PT15M, Resolution.PT30M, Resolution.PT1H}


def quality(doc: Doc) -> Quality:
    """``BRUT`` (raw) or ``BEST`` (corrected)."""
    text = doc.text()
    if text == "BRUT":
        return Quality.RAW
    if text == "BEST":
        return Quality.VALIDATED
    raise doc.fail("BRUT or BEST")


def value_or_gap(doc: Doc) -> Decimal | None:
    """A meter value, or ``None`` for Enedis's ``"null"``."""
    return None if doc.value == "null" else doc.meter_value()


def local_stamp(doc: Doc) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` local wall-clock time (naive)."""
    text = doc.text()
    if not _STAMP.fullmatch(text):
        raise doc.fail("a local time YYYY-MM-DD HH:MM:SS")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise doc.fail("a local time YYYY-MM-DD HH:MM:SS") from None


def day_or_stamp(doc: Doc) -> date:
    """The local day of ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS`` (a maximum's moment)."""
    text = doc.value
    if isinstance(text, str) and len(text) == 10:
        return doc.day()
    return local_stamp(doc).date()


def curve_step(doc: Doc) -> Resolution:
    """A point's ``p``/``interval_length``; a step Passerelle cannot name is refused as such."""
    text = doc.text()
    try:
        step: Resolution | None = Resolution.parse(text)
    except UnknownVocabulary:
        step = None
    if step not in _CURVE_STEPS:
        raise UnsupportedResolution(f"Enedis sends this load curve at {text[:10]!r}, a step "
                                    "Passerelle does not serve.", field=doc.path)
    assert step is not None
    return step


class Timeline:
    """Readings of ``[first, end[`` (local days) checked one by one as they arrive."""

    def __init__(self, zone: str, first: date, end: date) -> None:
        self.zone = zone
        self.lower = at_hour(first, zone)
        self.upper = at_hour(end, zone)
        self.readings: list[Reading] = []
        self._last_end: datetime | None = None

    def _add(self, start: datetime, end: datetime, value: Decimal | None, quality_: Quality,
             where: Doc) -> None:
        if not self.lower <= start < end <= self.upper:
            raise where.fail("a time inside the requested days")
        if self._last_end is not None and start < self._last_end:
            raise where.fail("values in order and without overlap")
        self._last_end = end
        if value is not None:
            self.readings.append(Reading(start, end, value, quality_))

    def day(self, day: date, value: Decimal | None, quality_: Quality, where: Doc) -> None:
        """A daily value (energy, maximum power)."""
        self._add(at_hour(day, self.zone), at_hour(day + timedelta(days=1), self.zone), value,
                  quality_, where)

    def interval_ending(self, stamp: Doc, step: Resolution, value: Decimal | None,
                        quality_: Quality) -> None:
        """A load-curve value whose ``stamp`` is the local end of its interval."""
        try:
            end = resolve_local(local_stamp(stamp), self.zone, self._last_end)
        except ValueError:
            raise stamp.fail("an existing local time") from None
        start = fixed(end.astimezone(UTC) - step.nominal, self.zone)
        self._add(start, end, value, quality_, stamp)

    def register_at(self, stamp: Doc, value: Decimal, quality_: Quality) -> None:
        """A register read at a local midnight: it closes the day that ends there."""
        naive = local_stamp(stamp)
        if naive.time() != datetime.min.time():
            raise stamp.fail("a local midnight (the end of a day)")
        self.day(naive.date() - timedelta(days=1), value, quality_, stamp)

"""ISO 8601 durations laid on the calendar: how long a consent lasts, how far back it reaches.

Two grammars, one count. The native API's ``authorization_details`` take one unit
(``P90D``, ``P2W``, ``P12M``, ``P1Y``, RFC 9396 details documented in ``docs/oauth.md``); the
Data Connect consent page takes Data Connect's ``duration`` (``P1Y4M``, ``P2W3D``, ``P1095D``).
Both count years and months on the calendar, to the same day of the month (its last, when the
month is shorter), so that ``P3Y`` and ``P36M`` are the same three calendar years, within the
three-year caps (R12; Data Connect: "ne peut excéder 3 ans"). A month of 31 days and a year of
366 made ``P3Y`` 1,098 days, refused, and ``P12M`` 372.

A count far past any cap is not laid on the calendar (dates end in year 9999: ``P9999Y`` from
2026 is no date at all); it answers :data:`FAR` days, which every cap refuses.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from consent.periods import add_months

#: Days standing for "longer than any cap" (more than 2,700 years).
FAR = 10**6
#: Beyond these, :data:`FAR`: a hundred years is past every cap and still on the calendar.
_MAX_MONTHS = 1200
_MAX_DAYS = 36_600

_ONE_UNIT = re.compile(r"P([0-9]{1,4})([DWMY])")
_DATA_CONNECT = re.compile(
    r"P(?:([0-9]{1,9})Y)?(?:([0-9]{1,9})M)?(?:([0-9]{1,9})W)?(?:([0-9]{1,9})D)?")


def calendar_days(today: date, *, months: int = 0, days: int = 0, back: bool = False) -> int:
    """Days from ``today`` to ``months`` calendar months then ``days`` days later, or, with
    ``back``, earlier (a history reaches into the past: its leap day is the one behind it)."""
    if months > _MAX_MONTHS or days > _MAX_DAYS:
        return FAR
    if back:
        return (today - (add_months(today, -months) - timedelta(days=days))).days
    return (add_months(today, months) + timedelta(days=days) - today).days


def parse_one_unit(text: object, today: date, *, back: bool = False) -> int | None:
    """Days of a native duration (``PnD``, ``PnW``, ``PnM``, ``PnY``, ``n`` of 1 to 4 ASCII
    digits) counted from ``today``; ``None`` if malformed or zero."""
    match = _ONE_UNIT.fullmatch(text) if isinstance(text, str) else None
    if not match or int(match.group(1)) == 0:
        return None
    count, unit = int(match.group(1)), match.group(2)
    if unit in "MY":
        return calendar_days(today, months=count * (12 if unit == "Y" else 1), back=back)
    return calendar_days(today, days=count * (7 if unit == "W" else 1), back=back)


def parse_data_connect(text: str, today: date) -> int | None:
    """Days from ``today`` to the end of a Data Connect ``duration`` (``P1Y4M``, ``P36M``,
    ``P1095D``): years and months on the calendar, then weeks and days. ``None`` if malformed
    or zero (ISO 8601 with ASCII digits; Data Connect wants a positive one)."""
    match = _DATA_CONNECT.fullmatch(text)
    if not match or not any(match.groups()):
        return None
    years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
    if years == months == weeks == days == 0:
        return None
    return calendar_days(today, months=years * 12 + months, days=weeks * 7 + days)

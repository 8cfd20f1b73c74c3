"""Half-open time intervals ``[start, end)`` with the validation every rule relies on.

Data Connect, ADICT and Passerelle's own API all use half-open periods (the end is excluded).
:class:`Period` holds aware instants; :class:`DayRange` holds calendar days as recipients write
them (``start=2026-01-01&end=2026-01-08`` is seven days).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from consent.errors import DomainError, InvalidPeriod

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` between two timezone-aware instants; ``end`` ``None`` means open."""

    start: datetime
    end: datetime | None = None
    # The bounds in UTC, converted once (the checks compare them on every request).
    _utc_start: datetime = field(init=False, repr=False, compare=False)
    _utc_end: datetime | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or (self.end is not None and self.end.tzinfo is None):
            raise InvalidPeriod("Period bounds must carry a timezone.", field="period")
        start, end = _utc(self.start), None if self.end is None else _utc(self.end)
        if self.end is not None and end is not None and not start < end:
            raise InvalidPeriod(
                f"The period ends ({self.end.isoformat()}) before or when it starts "
                f"({self.start.isoformat()}).",
                field="period",
            )
        object.__setattr__(self, "_utc_start", start)
        object.__setattr__(self, "_utc_end", end)

    # Every comparison goes through UTC: datetimes sharing one ZoneInfo compare by wall time,
    # which is wrong in the hour the clocks go back (02:30+02:00 is before 02:00+01:00).
    # Against a UTC instant, Python compares any other zone by its offset: no conversion.

    def contains(self, instant: datetime) -> bool:
        """True if ``start <= instant < end``."""
        end = self._utc_end
        return self._utc_start <= instant and (end is None or instant < end)

    def utc_bounds(self) -> tuple[datetime, datetime | None]:
        """``start`` and ``end`` in UTC, to test many instants against this period without
        converting them (a curve's readings: hundreds per request)."""
        return self._utc_start, self._utc_end

    def covers(self, other: Period) -> bool:
        """True if ``other`` lies entirely inside this period."""
        if other._utc_start < self._utc_start:
            return False
        if self._utc_end is None:
            return True
        return other._utc_end is not None and other._utc_end <= self._utc_end

    def intersection(self, other: Period) -> Period | None:
        """The common part, or ``None`` if the periods do not overlap."""
        start = max(self.start, other.start, key=_utc)
        ends = [e for e in (self.end, other.end) if e is not None]
        end = min(ends, key=_utc) if ends else None
        if end is not None and not _utc(start) < _utc(end):
            return None
        return Period(start, end)

    def capped(self, length: timedelta) -> bool:
        """True if the period is bounded and no longer than ``length``."""
        return self.duration is not None and self.duration <= length

    @property
    def duration(self) -> timedelta | None:
        """Elapsed time from start to end (``None`` if open). Computed in UTC: Python
        subtracts two datetimes of the same zone by wall clock, which is an hour off across a
        DST change."""
        if self.end is None:
            return None
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)


def joined(periods: list[Period]) -> list[Period]:
    """The union of ``periods`` as disjoint periods in order: those that overlap or touch (one
    ends when the next starts) become one, so that a renewal taking over from an authorisation
    still in force leaves no seam in what is covered."""
    out: list[Period] = []
    for period in sorted(periods, key=lambda p: _utc(p.start)):
        last = out[-1] if out else None
        if last is not None and (last.end is None or _utc(period.start) <= _utc(last.end)):
            end = None if last.end is None or period.end is None else max(last.end, period.end,
                                                                          key=_utc)
            out[-1] = Period(last.start, end)
        else:
            out.append(period)
    return out


def span_at(periods: list[Period], at: datetime) -> Period | None:
    """Of ``periods`` :func:`joined`, the span in force at ``at``, else the latest (to say
    what would be allowed); ``None`` if there are none. For grants that follow one another
    (upstream authorisations, supply contracts): a renewal granted while the previous one still
    runs, or starting as it ends, must not hide the part only the previous one covers."""
    spans = joined(periods)
    current = [p for p in spans if p.contains(at)]
    return current[0] if current else (spans[-1] if spans else None)


#: The calendar days a :class:`DayRange` may name.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(9000, 1, 1)


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def _within_days(day: date, field: str) -> None:
    # Days near year 1 or 9999 overflow once placed in a time zone or moved by a day: refuse
    # them (found by fuzzing: start=0001-01-01 was a 500). No meter reads outside this span.
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidPeriod(f"{field} must lie between {EARLIEST_DAY.isoformat()} and "
                            f"{LATEST_DAY.isoformat()}.", field=field)


def day_from_text(text: str, field: str) -> date:
    """A calendar day written ``YYYY-MM-DD`` in ASCII digits, from :data:`EARLIEST_DAY` to
    :data:`LATEST_DAY`; anything else is an :class:`InvalidPeriod` (400) naming ``field``."""
    try:
        # fromisoformat also takes week dates (2026-W01-1) and, from Python 3.11, other
        # ISO 8601 forms: the contract is YYYY-MM-DD (ASCII digits) only.
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidPeriod(f"{field} must be a date written YYYY-MM-DD, got {text!r:.40}.",
                            field=field) from None
    _within_days(day, field)
    return day


def instant_from_text(value: object, field: str) -> datetime:
    """An RFC 3339 instant with its offset (``2026-01-31T12:00:00+01:00``) whose day lies from
    :data:`EARLIEST_DAY` to :data:`LATEST_DAY`; anything else (no offset, a week date, not a
    string, year 9999 at -14:00 that overflows in UTC) is a :class:`DomainError` (400) naming
    ``field``. Every instant read from a request goes through here."""
    try:
        if not isinstance(value, str) or not _DAY.match(value):
            raise ValueError(value)
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise DomainError(f"{field} must be an RFC 3339 instant with its offset "
                          "(2026-01-31T12:00:00+01:00).", field=field) from None
    if instant.tzinfo is None:
        raise DomainError(f"{field} must carry its offset (Z or +01:00).", field=field)
    _within_days(instant.date(), field)
    return instant


@dataclass(frozen=True, slots=True)
class DayRange:
    """Calendar days ``[start, end)``; ``end`` is the first day not included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise InvalidPeriod(
                f"The start day ({self.start.isoformat()}) must be strictly before the end day "
                f"({self.end.isoformat()}); the end day is excluded.",
                field="start",
            )
        for name, day in (("start", self.start), ("end", self.end)):
            _within_days(day, name)

    @classmethod
    def parse(cls, start: str, end: str) -> DayRange:
        """Parse two ``YYYY-MM-DD`` strings; a malformed one raises :class:`InvalidPeriod`."""
        return cls(day_from_text(start, "start"), day_from_text(end, "end"))

    @property
    def days(self) -> int:
        """Number of days in the range."""
        return (self.end - self.start).days

    def to_period(self, tz: ZoneInfo) -> Period:
        """The instants from local midnight of ``start`` to local midnight of ``end``."""
        return Period(local_midnight(self.start, tz), local_midnight(self.end, tz))


#: The civil time of the households Passerelle serves: France and Belgium keep one (CET/CEST,
#: Europe/Brussels has the same rules), so their local day is one day wherever the point is.
CONSENT_ZONE = ZoneInfo("Europe/Paris")


def consent_today(at: datetime) -> date:
    """The day a consent asked for at ``at`` counts its months and years from (``P1M``,
    ``P3Y``, a history ``P1Y`` back): the households' local day, never the UTC date, which is
    still the day before from 23:00 or 22:00 UTC on. The OAuth server
    (``authorization_details``) and the Data Connect-compatible consent page (``duration``)
    both ask here, so one request lasts the same whichever way it comes; days of data are the
    point's own local days (:class:`DayRange`)."""
    return at.astimezone(CONSENT_ZONE).date()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant ``day`` starts at in ``tz`` (the wall clock's 00:00, in that zone)."""
    return datetime.combine(day, time(), tzinfo=tz)


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def years_before(at: datetime, years: int) -> datetime:
    """The same wall-clock instant ``years`` calendar years before ``at`` (29 February goes to
    the 28th)."""
    day = add_months(at.date(), -12 * years)
    return at.replace(year=day.year, month=day.month, day=day.day)

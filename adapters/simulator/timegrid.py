"""Local days cut into fixed steps, correct across daylight-saving changes.

A metering day runs from local midnight (electricity) or 06:00 (the gas day) to the same local
hour the next day: 24 hours on most days, 23 or 25 on the two change days. Slot instants are
computed in UTC and shown in the point's local offset, so no interval is ever lost or doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 1440


@dataclass(frozen=True, slots=True)
class LocalDay:
    """One metering day of ``zone``: ``[start, end)`` in UTC, starting at ``start_hour`` local."""

    zone: str
    day: date
    start_hour: int
    start: datetime
    end: datetime

    @property
    def regular(self) -> bool:
        """False on the two daylight-saving change days of the year."""
        return self.end - self.start == timedelta(days=1)

    def slot_count(self, step: int) -> int:
        """Number of ``step``-minute slots in the day (92, 96 or 100 quarter-hours)."""
        return int((self.end - self.start).total_seconds()) // (60 * step)

    def local_minutes(self, step: int) -> list[int]:
        """Local minute of the day (0-1439) at which each slot starts."""
        n = self.slot_count(step)
        if self.regular:
            first = self.start_hour * 60
            return [(first + i * step) % MINUTES_PER_DAY for i in range(n)]
        zone = ZoneInfo(self.zone)
        out = []
        for i in range(n):
            local = (self.start + timedelta(minutes=i * step)).astimezone(zone)
            out.append(local.hour * 60 + local.minute)
        return out

    def instants(self, step: int) -> list[datetime]:
        """Aware start instant of each slot, plus the day's end (``slot_count + 1`` items)."""
        n = self.slot_count(step)
        delta = timedelta(minutes=step)
        if self.regular:
            first = fixed_offset(self.start, self.zone)
            return [first + i * delta for i in range(n + 1)]
        return [fixed_offset(self.start + i * delta, self.zone) for i in range(n + 1)]

    def bounds(self) -> tuple[datetime, datetime]:
        """The day's start and end as aware local instants (fixed offsets)."""
        return fixed_offset(self.start, self.zone), fixed_offset(self.end, self.zone)


@lru_cache(maxsize=64)
def _offset_zone(offset: timedelta) -> timezone:
    return timezone(offset)


def fixed_offset(instant: datetime, zone: str) -> datetime:
    """``instant`` shown in ``zone``'s offset at that instant, as a fixed-offset datetime.

    Fixed offsets, not ``ZoneInfo``: Python compares two datetimes sharing one tzinfo by wall
    time and ignores ``fold``, so 02:45 (first pass) would sort after 02:00 (second pass) on the
    night clocks go back.
    """
    offset = instant.astimezone(ZoneInfo(zone)).utcoffset()
    assert offset is not None
    return instant.astimezone(_offset_zone(offset))


@lru_cache(maxsize=16384)
def local_day(zone: str, day: date, start_hour: int = 0) -> LocalDay:
    """The metering day ``day`` of ``zone`` starting at ``start_hour`` local time."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(start_hour), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(start_hour), tzinfo=tz).astimezone(UTC)
    return LocalDay(zone, day, start_hour, start, end)


def day_of(zone: str, instant: datetime, start_hour: int = 0) -> date:
    """The metering day (local date of its start) that contains ``instant``."""
    local = instant.astimezone(ZoneInfo(zone)) - timedelta(hours=start_hour)
    return local.date()


def local_midnight(zone: str, day: date) -> datetime:
    """Local midnight of ``day`` as an aware instant in ``zone``."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone))

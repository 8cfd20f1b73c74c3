"""Local time as DSOs write it, turned into aware instants without losing or doubling an hour.

DSOs date values in local time, often without an offset (Data Connect's ``"2026-10-25
02:30:00"``), so the night clocks go back has two instants with the same text and the night they
go forward has texts that name no instant. :func:`resolve_local` picks the right one from the
order of the values; the results are shown with fixed offsets (:func:`fixed`) because Python
compares two datetimes sharing one ``ZoneInfo`` by wall time, ignoring ``fold``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from consent.periods import Period


@lru_cache(maxsize=64)
def _offset_zone(offset: timedelta) -> timezone:
    return timezone(offset)


@lru_cache(maxsize=16)
def zone_info(zone: str) -> ZoneInfo:
    return ZoneInfo(zone)


def fixed(instant: datetime, zone: str) -> datetime:
    """``instant`` shown in ``zone``'s offset at that instant, as a fixed-offset datetime."""
    offset = instant.astimezone(zone_info(zone)).utcoffset()
    assert offset is not None
    return instant.astimezone(_offset_zone(offset))


def at_hour(day: date, zone: str, hour: int = 0) -> datetime:
    """``hour`` o'clock local on ``day`` (midnight, or 06:00 for a gas day), fixed offset."""
    return fixed(datetime.combine(day, time(hour), tzinfo=zone_info(zone)), zone)


def day_of(instant: datetime, zone: str, start_hour: int = 0) -> date:
    """The metering day (starting at ``start_hour`` local) that contains ``instant``."""
    return (instant.astimezone(zone_info(zone)) - timedelta(hours=start_hour)).date()


def days_covering(period: Period, zone: str, start_hour: int = 0) -> tuple[date, date]:
    """First metering day and the day after the last one whose start lies in ``period``."""
    assert period.end is not None
    first = day_of(period.start, zone, start_hour)
    if at_hour(first, zone, start_hour) < period.start:
        first += timedelta(days=1)
    last = day_of(period.end, zone, start_hour)
    if at_hour(last, zone, start_hour) < period.end:
        last += timedelta(days=1)
    return first, max(first, last)


def resolve_local(naive: datetime, zone: str, after: datetime | None) -> datetime:
    """The aware instant a local wall-clock ``naive`` names, the first one after ``after``
    when it is ambiguous. Raises :class:`ValueError` for a time that does not exist."""
    info = zone_info(zone)
    first = naive.replace(tzinfo=info, fold=0)
    second = naive.replace(tzinfo=info, fold=1)
    if first.astimezone(UTC).astimezone(info).replace(tzinfo=None) != naive:
        raise ValueError(f"{naive} does not exist in {zone}")
    if first.utcoffset() == second.utcoffset():
        return fixed(first, zone)
    early, late = fixed(first, zone), fixed(second, zone)
    return late if after is not None and early <= after else early

"""Cutting data to a consent's view: clamp to a window, roll up to a coarser resolution, keep only
released record fields (R6, R12).

Roll-ups follow the local calendar of the series' timezone: a day runs from local midnight to the
next local midnight, so it lasts 23 or 25 hours on DST change days; weeks start on Monday (ISO
8601), months on the 1st. Sub-daily buckets (``PT1H`` from ``PT30M``...) are aligned on UTC
multiples of their length, which matches local boundaries in every zone whose offset is a whole
number of hours (all European DSOs).

How one bucket summarises its readings follows :attr:`DatasetSpec.aggregate`: energy is summed,
mean power is time-weighted, peak power is the maximum, a register is read at the bucket's end.
A bucket is emitted only when its readings cover it exactly: a gap in the data yields a missing
value, never a wrong one. Its quality is the least trustworthy of its readings.

Arithmetic on instants is done in UTC: Python compares and subtracts datetimes sharing one
``ZoneInfo`` by wall time, which is wrong across a DST change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import groupby
from zoneinfo import ZoneInfo

from consent.errors import ResolutionUnavailable
from consent.identifiers import PointRef
from consent.periods import DayRange, Period, local_midnight
from consent.readings import Quality, Reading, Record, Series
from consent.vocabulary import Aggregate, Dataset, Resolution

#: Mean power is given to the milliwatt; sums, maxima and registers stay exact.
AVERAGE_QUANTUM = Decimal("0.001")

_TRUST = {Quality.VALIDATED: 0, Quality.RAW: 1, Quality.ESTIMATED: 2}


def clamp(series: Series, window: Period) -> Series:
    """Keep the readings that lie entirely inside ``window`` (``window.covers`` each one's
    ``[start, end)``, compared in UTC without building a period per reading: against a UTC
    bound Python compares any other zone by its offset, so no reading is converted).

    A reading of a calendar resolution (a day, a week...) is kept when its start lies in
    ``window``: it belongs to the date it starts on (``adapters.base``), and a gas day runs
    06:00 to 06:00, so the gas day of a window's last date ends after the window does. Windows
    are whole local days (the rules judged them so); what runs past midnight is that date's."""
    start, end = window.utc_bounds()
    if series.resolution.is_calendar:
        kept = tuple(r for r in series.readings
                     if start <= r.start and (end is None or r.start < end))
    else:
        kept = tuple(r for r in series.readings
                     if start <= r.start and (end is None or r.end <= end))
    return replace(series, readings=kept)


def cut_record(record: Record, fields: Iterable[str]) -> Record:
    """Keep only the released ``fields`` (R6), in the dataset's own field order."""
    released = set(fields)
    order = record.dataset.spec.fields
    kept = {name: record.fields.get(name) for name in order if name in released}
    return replace(record, fields=kept)


def roll_up(series: Series, target: Resolution) -> Series:
    """The series at the coarser ``target`` resolution (same series if already there).

    Raises :class:`~consent.errors.ResolutionUnavailable` if ``target`` cannot be made of
    whole intervals of the data: finer than the data, or a fixed step that the data's step does
    not divide (``PT15M`` from ``PT10M`` readings). Every bucket would be partial, so the answer
    would be an empty series served as if the data had none (R6: a denial says what would be
    allowed; ``reachable`` lists it).
    """
    if target is series.resolution:
        return series
    if not reaches(series.resolution, target):
        raise unreachable(series.dataset, series.point, series.resolution, target,
                          reachable(series.resolution))
    tz = ZoneInfo(series.timezone)
    how = series.dataset.spec.aggregate
    step = series.resolution
    readings = []
    for (start, end), group in groupby(series.readings, key=lambda r: bucket(r.start, target, tz)):
        members = list(group)
        if step.is_calendar:
            # Days (or months) by the date they start on: a gas day runs 06:00 to 06:00, so
            # its week runs Monday 06:00 to Monday 06:00, and says so.
            if _tiles(members, step, start, end, tz):
                readings.append(_combine(members, members[0].start.astimezone(tz),
                                         members[-1].end.astimezone(tz), how))
        elif all(r.end.astimezone(UTC) <= end for r in members) and _covers(members, start, end):
            readings.append(_combine(members, start.astimezone(tz), end.astimezone(tz), how))
    return replace(series, resolution=target, readings=tuple(readings))


def holds_whole(days: DayRange, resolution: Resolution) -> bool:
    """True if the local days ``days`` hold at least one whole ``resolution`` interval (a
    week from a Monday, a month from its first day...): a window holding none would be served
    nothing at all."""
    if not resolution.is_calendar:
        return True
    first = _calendar_start(days.start, resolution)
    if first < days.start:
        first = _calendar_next(first, resolution)
    return _calendar_next(first, resolution) <= days.end


def reaches(step: Resolution, target: Resolution) -> bool:
    """True if whole ``step`` intervals make up every ``target`` interval: ``target`` is
    ``step``; a fixed step that is a multiple of ``step``; a calendar resolution, from any
    sub-daily step (every one divides a day, 23- and 25-hour days included) or from days;
    years from months. Weeks make nothing coarser: they straddle months and years."""
    if target is step:
        return True
    if target.finer_than(step):
        return False
    if step.is_calendar:
        return step is Resolution.P1D or (step is Resolution.P1M and target is Resolution.P1Y)
    return target.is_calendar or not target.nominal % step.nominal


def reachable(step: Resolution) -> list[Resolution]:
    """The resolutions data measured every ``step`` can be served at, finest first."""
    return sorted((r for r in Resolution if reaches(step, r)), key=lambda r: r.nominal)


def unreachable(dataset: Dataset, point: PointRef, step: Resolution, target: Resolution,
                allowed: Sequence[Resolution]) -> ResolutionUnavailable:
    """The refusal of ``target`` for data measured every ``step``, naming what ``allowed``
    holds instead (R6: a denial says what would be allowed)."""
    names = [r.value for r in allowed]
    return ResolutionUnavailable(
        f"{dataset.value} of {point} is measured every {step.value}; it cannot be served at "
        f"{target.value}. It can be served at "
        f"{', '.join(names) or 'no resolution this consent releases'}.",
        available=step.value, reachable=names)


def view(series: Series, window: Period, resolution: Resolution) -> Series:
    """What a consent releases: the series clamped to ``window``, then rolled up."""
    return roll_up(clamp(series, window), resolution)


def bucket(instant: datetime, resolution: Resolution, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The ``[start, end)`` (UTC) of the ``resolution`` interval that contains ``instant``."""
    if not resolution.is_calendar:
        step = int(resolution.nominal.total_seconds())
        seconds = int(instant.timestamp())
        start = datetime.fromtimestamp(seconds - seconds % step, UTC)
        return start, start + resolution.nominal
    first = _calendar_start(instant.astimezone(tz).date(), resolution)
    return (local_midnight(first, tz).astimezone(UTC),
            local_midnight(_calendar_next(first, resolution), tz).astimezone(UTC))


def _calendar_start(day: date, resolution: Resolution) -> date:
    if resolution is Resolution.P1D:
        return day
    if resolution is Resolution.P1W:
        return day - timedelta(days=day.weekday())
    if resolution is Resolution.P1M:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _calendar_next(first: date, resolution: Resolution) -> date:
    if resolution is Resolution.P1D:
        return first + timedelta(days=1)
    if resolution is Resolution.P1W:
        return first + timedelta(days=7)
    if resolution is Resolution.P1M:
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.replace(year=first.year + 1)


def _tiles(readings: list[Reading], step: Resolution, start: datetime, end: datetime,
           tz: ZoneInfo) -> bool:
    """True if ``readings``, one per calendar ``step`` by the date each starts on, fill
    ``[start, end)`` without a gap."""
    cursor = start
    for r in readings:
        first, following = bucket(r.start, step, tz)
        if first != cursor:
            return False
        cursor = following
    return cursor == end


def _covers(readings: list[Reading], start: datetime, end: datetime) -> bool:
    cursor = start
    for r in readings:
        if r.start.astimezone(UTC) != cursor:
            return False
        cursor = r.end.astimezone(UTC)
    return cursor == end


def _seconds(r: Reading) -> Decimal:
    return Decimal(int((r.end.astimezone(UTC) - r.start.astimezone(UTC)).total_seconds()))


def _combine(readings: list[Reading], start: datetime, end: datetime, how: Aggregate) -> Reading:
    if how is Aggregate.SUM:
        value = sum((r.value for r in readings), Decimal(0))
    elif how is Aggregate.AVERAGE:
        total = sum((_seconds(r) for r in readings), Decimal(0))
        weighted = sum((r.value * _seconds(r) for r in readings), Decimal(0))
        value = (weighted / total).quantize(AVERAGE_QUANTUM, rounding=ROUND_HALF_EVEN).normalize()
    elif how is Aggregate.MAXIMUM:
        value = max(r.value for r in readings)
    elif how is Aggregate.REGISTER:
        value = readings[-1].value
    else:  # pragma: no cover - records never reach a roll-up
        raise ValueError(f"cannot aggregate {how.value}")
    quality = max((r.quality for r in readings), key=_TRUST.__getitem__)
    return Reading(start, end, value, quality)


def iter_days(window: Period, tz: ZoneInfo) -> Iterator[date]:
    """The local calendar days that ``window`` touches (for day-keyed caches)."""
    assert window.end is not None
    day = window.start.astimezone(tz).date()
    last = (window.end - timedelta(microseconds=1)).astimezone(tz).date()
    while day <= last:
        yield day
        day += timedelta(days=1)

"""R17's calendar: how long usage traces are kept, and at which grain.

R17: "Retention of usage traces in aggregated views: daily for 31 days, weekly for 20 weeks,
monthly for 20 months". Passerelle reads it as three views of the same traces, each covering
the last periods of its grain, and nothing older:

=========  =========================================================================
detail     every access (``access_event`` rows, the evidence log's ``access``
           payloads) for :data:`DETAIL` (31 days): the daily view is counted from it
weekly     counts per week while the week ended less than :data:`WEEKS` (20 weeks) ago
monthly    counts per month while the month ended less than :data:`MONTHS` (20) ago
=========  =========================================================================

Periods are UTC. A week starts on Monday 00:00 UTC but is cut where a month starts: a week
spanning two months is two periods, so weekly counts add up to monthly counts exactly (a count
never has to be split). An access leaves the detail once *it* is more than 31 days old (one
exactly 31 days old is kept), a period leaves its view once its *end* is more than the view's
length ago: whatever lies strictly before a cut-off of :class:`Horizons` leaves.
:meth:`Horizons.bucket` says where a count goes when it leaves: its week if that week is still
in the weekly view, else its month if that month is still in the monthly view, else nowhere (an
access swept late, after a long outage, skips the views it is already past).
Used by :mod:`consent.access_counts` and :mod:`consent.evidence.retention`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from consent.periods import add_months

#: How long each access is kept in full (R17's daily view).
DETAIL = timedelta(days=31)
#: The weekly view: weeks that ended less than this long ago.
WEEKS = timedelta(weeks=20)
#: The monthly view: months that ended less than this many calendar months ago.
MONTHS = 20

Grain = Literal["week", "month"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One period of a view: ``[start, end)``, UTC."""

    grain: Grain
    start: datetime
    end: datetime


def _midnight(instant: datetime) -> datetime:
    return datetime.combine(instant.astimezone(UTC).date(), time(), tzinfo=UTC)


def month_of(instant: datetime) -> Bucket:
    """The calendar month (UTC) holding ``instant``."""
    start = _midnight(instant).replace(day=1)
    end = datetime.combine(add_months(start.date(), 1), time(), tzinfo=UTC)
    return Bucket("month", start, end)


def week_of(instant: datetime) -> Bucket:
    """The week (Monday, UTC) holding ``instant``, cut at the start and end of its month."""
    day = _midnight(instant)
    monday = day - timedelta(days=day.weekday())
    month = month_of(day)
    return Bucket("week", max(monday, month.start), min(monday + timedelta(days=7), month.end))


@dataclass(frozen=True, slots=True)
class Horizons:
    """R17's cut-offs at one instant ``now`` (see the module docstring)."""

    now: datetime
    #: Accesses strictly before this leave the detail.
    detail_before: datetime
    #: Weeks ending strictly before this leave the weekly view.
    weeks_before: datetime
    #: Months ending strictly before this leave the monthly view.
    months_before: datetime

    @classmethod
    def at(cls, now: datetime) -> Horizons:
        now = now.astimezone(UTC)
        day = add_months(now.date(), -MONTHS)
        return cls(now, now - DETAIL, now - WEEKS,
                   now.replace(year=day.year, month=day.month, day=day.day))

    def bucket(self, at: datetime) -> Bucket | None:
        """Where the count of an access (or of a week) at ``at`` goes when it leaves its
        finer view, or ``None`` if every view holding it is already past."""
        week = week_of(at)
        if week.end >= self.weeks_before:
            return week
        return self.month(at)

    def month(self, at: datetime) -> Bucket | None:
        """The month of ``at`` if it is still in the monthly view, else ``None``."""
        month = month_of(at)
        return month if month.end >= self.months_before else None

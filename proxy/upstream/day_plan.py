"""Which DSO calls fetch a window's days, and how their readings make one series.

Pure functions over local days, used by :class:`~proxy.upstream.fetcher.Upstream`: no I/O, no
limiter, no cache. The fetcher decides what is cached and what is in flight; these say how many
calls that leaves and how their answers are put together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from adapters.base import Capabilities
from consent.errors import InvalidPeriod
from consent.periods import Period, local_midnight
from consent.readings import Reading
from consent.vocabulary import Dataset

#: The most DSO calls one request's window may need: 56 days of an Enedis load curve, eight
#: years of Enedis daily values. Counted on the whole window whatever the cache holds, so what
#: is accepted does not depend on what others read before; a year of load curve (53 calls of
#: Enedis's 7-day window) would take the operator's shared quota for one app's one request.
MAX_CALLS_PER_REQUEST = 8


def days_per_call(capabilities: Capabilities, dataset: Dataset) -> int | None:
    """How many days one DSO call serves (``None``: any window in one call)."""
    limit = capabilities.limits(dataset).max_window
    return max(1, limit.days) if limit is not None else None


def check_call_bound(dataset: Dataset, days: int, per_call: int | None,
                     max_calls: int | None) -> None:
    """:class:`InvalidPeriod` (400, naming the most days allowed) when ``days`` local days
    need more than ``max_calls`` DSO calls of ``per_call`` days (``None``: no bound)."""
    if max_calls is None or per_call is None or -(-days // per_call) <= max_calls:
        return
    most = per_call * max_calls
    raise InvalidPeriod(
        f"The DSO serves {dataset.value} {per_call} days per call; ask for at most "
        f"{most} days at a time (this window has {days}).", field="end", max_days=most)


def call_windows(days: Iterable[date], cached: set[date], per_call: int | None,
                 tz: ZoneInfo) -> list[Period]:
    """The DSO calls that fetch every one of ``days`` (in order) not ``cached``: a call starts
    at a missing day and runs to the last missing day within the per-call window, cached days
    in between fetched again. So a window takes at most as many calls as it would with nothing
    cached (:func:`check_call_bound`), however the cached days are scattered, and no call is
    made for a run of cached days alone."""
    runs: list[list[date]] = []  # [first, last] missing day of each call
    for day in days:
        if day in cached:
            continue
        if runs and (per_call is None or (day - runs[-1][0]).days < per_call):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [Period(local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz))
            for first, last in runs]


def merged(cached: Mapping[date, tuple[Reading, ...]], fetched: Iterable[Reading],
           window: Period, tz: ZoneInfo) -> tuple[list[date], tuple[Reading, ...]]:
    """The readings of ``window``, in order of their instants, from what the DSO brought
    and what the cache held; and the cached days used.

    A cached day fetched again (inside a call for missing days) is served as fetched; one the
    DSO left out this time (a gap, a call without data) is served from the cache, as it would
    be if asked for alone."""
    fetched = list(fetched)
    fresh = {r.start.astimezone(tz).date() for r in fetched}
    from_cache = [day for day in cached if day not in fresh]
    readings = [r for day in from_cache for r in cached[day]] + fetched
    # By instant: cached readings share one ZoneInfo, which orders by wall clock (wrong on the
    # night the clocks go back).
    readings.sort(key=lambda r: r.start.timestamp())
    # window.contains(r.start): against UTC bounds, Python compares by offset.
    start, end = window.utc_bounds()
    return from_cache, tuple(r for r in readings
                             if start <= r.start and (end is None or r.start < end))

"""Fetching meter data for an allowed request: day cache first, then the DSO.

:class:`Upstream` wraps one :class:`~adapters.base.MeterDataAdapter` with what makes calling it
economical:

* the window is cut into local days; days already in the :class:`~consent.day_cache.DayCache`
  are not fetched again, whichever recipient asked for them first;
* missing days are fetched in calls that each start at a missing day and run to the last
  missing day within the adapter's per-call window (:attr:`DatasetLimits.max_window`), cached
  days in between fetched again, so one adapter call is one DSO call and scattered cached
  days never take more calls than none would;
* every adapter call runs :func:`~adapters.quota.acting_for` the recipient: the adapter takes
  one turn per DSO request from the instance's one limiter (:mod:`adapters.limiter`), fair
  across recipients, in the quota bucket of the API it calls. Nothing here takes another turn:
  a DSO request is counted once, where it is sent;
* one request may need at most :data:`~proxy.upstream.day_plan.MAX_CALLS_PER_REQUEST` DSO
  calls, counted on its whole window whatever the cache holds;
* concurrent requests share calls by day (single flight): days another request's call in
  flight covers are awaited from it, not asked again, whatever the two windows;
* complete, ended days are sealed into the cache afterwards.

Data is fetched at the point's native resolution (:meth:`Upstream.native_resolution`); the
consent's view (roll-up, clamp) is cut afterwards by the caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from adapters.base import Capabilities, MeterDataAdapter, PointInfo
from adapters.errors import (
    NoData,
    QuotaBusy,
    UnsupportedDataset,
)
from adapters.quota import counting_exchanges
from consent.aggregation import iter_days
from consent.clock import Clock
from consent.day_cache import GAP_TTL, PROVISIONAL_TTL, DayCache, complete_days, gap_days
from consent.identifiers import PointRef
from consent.models.base import DEFAULT_TENANT
from consent.periods import Period
from consent.readings import Reading, Record, Series
from consent.vocabulary import Dataset, Resolution
from proxy.metrics import Metrics
from proxy.upstream.calls import FetchReport, SharedCall, measured, noted
from proxy.upstream.day_plan import (
    MAX_CALLS_PER_REQUEST,
    call_windows,
    check_call_bound,
    days_per_call,
    merged,
)

T = TypeVar("T")
log = logging.getLogger("passerelle.upstream")

#: How long a point's description (native resolutions, time zone) is reused.
DESCRIBE_TTL = 900.0


class Upstream:
    """One adapter with its describe cache and the shared day cache."""

    def __init__(self, adapter: MeterDataAdapter, capabilities: Capabilities, clock: Clock, *,
                 cache: DayCache | None = None, metrics: Metrics | None = None) -> None:
        self.adapter = adapter
        self.capabilities = capabilities
        self.clock = clock
        self.cache = cache
        self.metrics = metrics
        self._described: dict[PointRef, tuple[float, PointInfo]] = {}
        self._inflight: dict[tuple[object, ...], SharedCall[Any]] = {}
        self.calls = 0

    async def close(self) -> None:
        """Stop the DSO calls still in flight (none outlives the application: its HTTP
        session, limiter and database close next)."""
        pending = [shared.task for shared in self._inflight.values()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._inflight.clear()  # a task cancelled before it ran never removed its entry

    async def _call(self, recipient: str, call: Callable[[], Awaitable[T]]) -> T:
        """One adapter call on behalf of ``recipient`` (its limiter turns), measured."""
        self.calls += 1
        return await measured(self.capabilities.name, self.metrics, recipient, call)

    def _count(self, cache: str, hits: int, misses: int) -> None:
        if self.metrics is not None:
            self.metrics.cache_lookup(cache, "hit", hits)
            self.metrics.cache_lookup(cache, "miss", misses)

    async def describe(self, point: PointRef, recipient: str,
                       report: FetchReport | None = None) -> PointInfo:
        """The point's description, reused for :data:`DESCRIBE_TTL` seconds."""
        now = time.monotonic()
        cached = self._described.get(point)
        if cached is not None and now - cached[0] < DESCRIBE_TTL:
            self._count("describe", 1, 0)
            return cached[1]
        self._count("describe", 0, 1)
        shared = self._share(("describe", point),
                             lambda: self._shared_describe(point, recipient), recipient)
        try:
            return await noted(report, f"describe {point}", asyncio.shield(shared.task),
                               shared.claim, shared.sent)
        except QuotaBusy:
            if shared.owner == recipient:
                raise
        # Another recipient's description, refused a turn for its share or wait: ours may
        # differ, so we describe it as ourselves.
        info = await noted(report, f"describe {point}",
                           self._call(recipient, lambda: self.adapter.describe(point)))
        self._described[point] = (time.monotonic(), info)
        return info

    async def _shared_describe(self, point: PointRef, recipient: str) -> PointInfo:
        try:
            info = await self._call(recipient, lambda: self.adapter.describe(point))
            self._described[point] = (time.monotonic(), info)
            return info
        finally:
            del self._inflight[("describe", point)]

    def _share(self, key: tuple[object, ...], call: Callable[[], Coroutine[Any, Any, T]],
               owner: str) -> SharedCall[T]:
        """The call in flight under ``key``, else ``call()`` started in a task of its own,
        shared by every request that comes for the same while it runs (one DSO call for all
        of them: the economy target). A request that goes away stops waiting; the call goes
        on for the others. ``call`` removes its own entry when it ends."""
        shared: SharedCall[T] | None = self._inflight.get(key)
        if shared is None:
            with counting_exchanges() as sent:  # the task's context is a copy of this one
                task = asyncio.create_task(call())
            # Retrieved even if every waiter went away, so a failure is never logged as lost.
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
            shared = self._inflight[key] = SharedCall(task, sent, owner)
        return shared

    async def native_resolution(self, point: PointRef, dataset: Dataset, recipient: str,
                                report: FetchReport, cap: Resolution | None = None,
                                ) -> tuple[Resolution, ZoneInfo]:
        """The resolution to fetch ``dataset`` of ``point`` at, and the point's zone.

        The finest native resolution not finer than ``cap``; when every native one is finer
        (a daily view of a curve), the coarsest, to be rolled up. A DSO with a single native
        step per meter (Enedis, GRDF) always gets that step, so every recipient shares it.
        """
        info = await self.describe(point, recipient, report)
        availability = info.availability(dataset)
        if not availability.resolutions:
            raise UnsupportedDataset(f"{dataset.value} is not a series.", dataset=dataset.value)
        allowed = [r for r in availability.resolutions if cap is None or not r.finer_than(cap)]
        if allowed:
            chosen = min(allowed, key=lambda r: r.nominal)
        else:
            chosen = max(availability.resolutions, key=lambda r: r.nominal)
        return chosen, ZoneInfo(info.timezone)

    async def series(self, point: PointRef, dataset: Dataset, window: Period, *,
                     recipient: str, report: FetchReport, cap: Resolution | None = None,
                     tenant: str = DEFAULT_TENANT,
                     max_calls: int | None = MAX_CALLS_PER_REQUEST) -> Series:
        """The native readings of ``dataset`` whose start lies in ``window`` (local days),
        at :meth:`native_resolution` for ``cap``, in at most ``max_calls`` DSO calls (else
        :class:`InvalidPeriod` before any: the module docstring; ``None``: no bound)."""
        resolution, tz = await self.native_resolution(point, dataset, recipient, report, cap)
        days = list(iter_days(window, tz))
        per_call = days_per_call(self.capabilities, dataset)
        check_call_bound(dataset, len(days), per_call, max_calls)
        # Calls in flight first, the cache next: a call that ends in between has sealed its
        # days into the cache before leaving the calls in flight (_shared_call).
        riding = self._riding((tenant, point, dataset, resolution), days)
        found: dict[date, tuple[Reading, ...]] = {}
        if self.cache is not None:
            now = self.clock.now()
            raw_since = None if self.capabilities.raw_final else now - PROVISIONAL_TTL
            found = await self.cache.get(point, dataset, resolution, days, tz, tenant=tenant,
                                         raw_since=raw_since, gaps_since=now - GAP_TTL)
            if len(found) == len(days) and not any(found.values()):
                # Nothing but gaps: asked again, so that the DSO's own answer says whether it
                # is "no data" (a 404) or an empty series, as it would without the cache.
                found = {}
            self._count("day", len(found), len(days) - len(found))
        wanted = set(days)
        riding = [shared for shared in riding if not shared.days <= found.keys()]
        covered = {day for shared in riding for day in shared.days}
        chunks = call_windows(days, set(found) | covered, per_call, tz)
        ours = {day for chunk in chunks for day in iter_days(chunk, tz)}
        # A ride whose days our own calls fetch anyway (cached days between missing ones are
        # fetched again, to keep within the call bound) would only add waiting.
        riding = [shared for shared in riding if not (shared.days & wanted) <= ours]
        # Each reading once, the first call that brings it giving it (by instant: the two
        # 02:00 of the night the clocks go back are two readings).
        fetched: dict[float, Reading] = {}
        empty: list[NoData] = []

        async def take(shared: SharedCall[Series]) -> None:
            try:
                got = await noted(report, shared.label, asyncio.shield(shared.task),
                                  shared.claim, shared.sent)
            except NoData as none:
                # Days the DSO has no value for, among days it has (from the cache or another
                # call): a gap in the series, as in one call over the whole window. The cache
                # remembers such days for a while (consent.day_cache.GAP_TTL).
                empty.append(none)
                return
            for reading in got.readings:
                fetched.setdefault(reading.start.timestamp(), reading)

        refused: QuotaBusy | None = None
        missed: set[date] = set()
        # Our calls one after the other (a failure stops the rest), then those we ride on.
        calls: list[Period | SharedCall[Series]] = [*chunks, *riding]
        for call in calls:
            shared = call if isinstance(call, SharedCall) else self._fetch(
                point, dataset, call, resolution, tz, recipient, tenant)
            try:
                await take(shared)
            except QuotaBusy as busy:
                if shared.owner == recipient:
                    raise
                # Another recipient's call (one we ride, or one our chunk joined), refused a
                # turn for *its* share or wait: ours may differ.
                refused = refused or busy
                missed |= shared.days & wanted
        if refused is not None:
            # The days still missing, asked for once as ourselves, within the call bound; a
            # refusal now is ours to give.
            brought = {r.start.astimezone(tz).date() for r in fetched.values()}
            again = call_windows(sorted(missed - found.keys() - brought), set(), per_call, tz)
            if max_calls is not None and len(chunks) + len(again) > max_calls:
                # Not ours to spend: the data source is busy for us too, without the other
                # recipient's share in the answer.
                raise QuotaBusy("The data source is at its request quota; retry later.",
                                retry_after=refused.retry_after)
            for chunk in again:
                await take(self._fetch(point, dataset, chunk, resolution, tz, recipient,
                                       tenant))
        from_cache, kept = merged(found, fetched.values(), window, tz)
        report.cache_days += len(from_cache)
        if empty and not fetched and not any(found[day] for day in from_cache):
            raise empty[0]
        return Series(point, dataset, dataset.spec.unit or "", resolution, str(tz), kept)

    def _riding(self, series: tuple[object, ...], days: list[date],
                ) -> list[SharedCall[Series]]:
        """The calls in flight for ``series`` (tenant, point, dataset, resolution) that cover
        some of ``days``."""
        wanted = set(days)
        return [shared for key, shared in self._inflight.items()
                if key[:4] == series and not shared.days.isdisjoint(wanted)]

    def _fetch(self, point: PointRef, dataset: Dataset, chunk: Period,
               resolution: Resolution, tz: ZoneInfo, recipient: str,
               tenant: str) -> SharedCall[Series]:
        """One DSO call for ``chunk``, shared by concurrent requests for its days, its
        complete days sealed into the cache *before* the call counts as done: a request
        arriving in between finds them there rather than calling again.

        The call runs in a task of its own: a request that goes away (its client
        disconnected) stops waiting for it, but the call goes on for the others waiting on
        it, and its days still reach the cache. The first request to learn its outcome lists
        it in its access event, whether it started it or not."""
        key = (tenant, point, dataset, resolution, chunk.start, chunk.end)
        shared = self._share(key, lambda: self._shared_call(
            key, point, dataset, chunk, resolution, tz, recipient, tenant), recipient)
        if not shared.label:
            shared.days = frozenset(iter_days(chunk, tz))
            shared.label = f"{dataset.value} {min(shared.days)}..{max(shared.days)}"
        return shared

    async def _shared_call(self, key: tuple[object, ...], point: PointRef, dataset: Dataset,
                           chunk: Period, resolution: Resolution, tz: ZoneInfo, recipient: str,
                           tenant: str) -> Series:
        try:
            try:
                series = await self._call(recipient, lambda: self.adapter.series(
                    point, dataset, chunk, resolution))
            except NoData:
                await self._seal(point, dataset, resolution, tz, chunk, (), tenant)
                raise
            await self._seal(point, dataset, resolution, tz, chunk, series.readings, tenant)
            return series
        finally:
            del self._inflight[key]

    async def _seal(self, point: PointRef, dataset: Dataset, resolution: Resolution,
                    tz: ZoneInfo, chunk: Period, readings: tuple[Reading, ...],
                    tenant: str) -> None:
        """Cache the complete days of a call's ``readings``, and the settled days of its
        ``chunk`` it had no value for (gaps; not at a week's or month's step, whose reading
        starts on one day of many)."""
        if self.cache is None:
            return
        now = self.clock.now()
        days = complete_days(readings, resolution, tz, now)
        try:
            if resolution.finer_than(Resolution.P1W) and (
                    gaps := gap_days(iter_days(chunk, tz), readings, tz, now)):
                # A day held with its readings stays: the call fetched it again (between
                # missing days) and the DSO left it out this time; it is served from the cache.
                held = await self.cache.get(point, dataset, resolution, gaps, tz, tenant=tenant)
                days |= {day: () for day in gaps if day not in held}
            await self.cache.put(point, dataset, resolution, days, now, tenant=tenant)
        except Exception:  # a cache that cannot write costs calls, never an answer
            log.exception("could not cache %s of %s", dataset.value, point)

    async def record(self, point: PointRef, dataset: Dataset, *, recipient: str,
                     report: FetchReport) -> Record:
        """A customer record: never cached (personal data, current occupant only)."""
        return await noted(report, dataset.value,
                           self._call(recipient, lambda: self.adapter.record(point, dataset)))

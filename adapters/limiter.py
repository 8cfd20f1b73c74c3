"""``FairLimiter``: the one :class:`~adapters.quota.UpstreamLimiter`, fair across recipients.

Each bucket of a :class:`~adapters.quota.QuotaPlan` (an API, or the whole application) is a
*lane*: a :class:`~consent.shared_state.QuotaLedger` over the bucket's windows (the API's own
and the application's, the latter shared by every lane of the application) and this process's
waiting line in front of it. The ledger decides whether a request may start now, in memory for
one process or in PostgreSQL for replicas sharing the DSO's quota (``ledgers``); the waiting
line hands those starts round-robin across recipients, so one busy recipient cannot starve the
others. Across replicas the balancer spreads each recipient's requests, so each replica's
round-robin keeps the whole instance roughly fair; the ledger keeps it *exactly* within quota.

Safety margin: every window is ``T * (1 + margin)`` long (5 % by default), so two requests
sent ``T`` apart that arrive closer together still fit the DSO's window. A 429 the DSO sends
anyway (its quota differs from the documented one, or another client shares the application)
holds the lane for the ``Retry-After`` (:meth:`FairLimiter.backoff`: one of the lane's own
windows is filled until then, on every replica): the application's other APIs go on.

Round-robin only orders requests that wait together: an app polling just under the
per-second pace never waits, and would take an hourly quota whole, every other app then
refused for the rest of the hour. So no recipient may take more than ``share`` of a window
longer than the shortest (the hour's, the day's), counted by this process (each replica its
own: with several, a recipient's share is per replica): beyond it, its own calls get
:class:`~adapters.errors.ShareSpent` (429, its doing) while the others go on.

A request that would wait longer than ``max_wait`` is refused at once with
:class:`~adapters.errors.QuotaBusy` (a 503 carrying a ``Retry-After``): holding a request for
minutes helps nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from adapters.base import Quota
from adapters.errors import QuotaBusy, ShareSpent
from adapters.quota import API_SCOPE, QuotaPlan
from adapters.quota_lane import QuotaLane
from consent.shared_state.quota import DEFAULT_MARGIN, MemoryLedger, QuotaLedger, SlidingWindow

#: Builds the ledger of one lane over its windows (memory, or PostgreSQL for replicas).
LedgerFactory = Callable[[Sequence[SlidingWindow]], QuotaLedger]


class FairLimiter:
    """The :class:`~adapters.quota.UpstreamLimiter` of the module docstring.

    ``ledgers`` builds each lane's ledger (default: this process's memory); ``margin``
    lengthens every window; ``max_wait`` bounds a wait (seconds); ``sleep`` waits for the
    ledger's "come back in" and ``seconds`` reads the time (injectable with the ledgers'
    clock, for tests). ``share`` is the most of any window longer than the shortest (an
    hour's, a day's quota) one recipient may take, counted by this process (:class:`ShareSpent`
    beyond it): round-robin orders requests that wait together, but an app polling just under
    the per-second pace never waits, and would take an hourly quota whole.
    """

    def __init__(self, *, max_wait: float = 10.0, ledgers: LedgerFactory = MemoryLedger,
                 margin: float = DEFAULT_MARGIN,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 seconds: Callable[[], float] = time.monotonic, share: float = 1.0) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"A recipient's share of a quota lies in ]0, 1], not {share}.")
        self.share = share
        self.max_wait = max_wait
        self.margin = margin
        self._ledgers = ledgers
        self._sleep = sleep
        self._seconds = seconds
        self._lanes: dict[tuple[str, str], QuotaLane] = {}
        self._plans: dict[str, QuotaPlan] = {}
        self._shared: dict[str, list[SlidingWindow]] = {}
        self.granted = 0
        self.backoffs = 0

    def _window(self, plan: QuotaPlan, quota: Quota, scope: str) -> SlidingWindow:
        return SlidingWindow(quota.requests, quota.per, margin=self.margin, name=(
            f"{plan.application}/{scope}/{quota.requests}per{quota.per.total_seconds():g}s"))

    def _lane(self, plan: QuotaPlan, api: str) -> QuotaLane | None:
        """The lane of ``api``'s bucket (built on first use), ``None`` without any quota."""
        bucket = plan.bucket(api)
        if not plan.quotas:
            return None
        lane = self._lanes.get((plan.application, bucket))
        if lane is not None:
            return lane
        known = self._plans.setdefault(plan.application, plan)
        if known.quotas != plan.quotas:
            raise ValueError(f"{plan.application} was already declared with other quotas")
        shared = self._shared.get(plan.application)
        if shared is None:  # one set per application: every lane counts in the same windows
            shared = self._shared[plan.application] = [
                self._window(plan, q, "app") for q in plan.quotas if q.scope != API_SCOPE]
        own = [self._window(plan, q, bucket) for q in plan.quotas if q.scope == API_SCOPE]
        # A start needs room in every window, so holding one window holds the bucket: the
        # bucket's own one (never the application's when the API has its own: the other APIs
        # go on) with the fewest slots (the fewest rows to fill in PostgreSQL).
        held = min(own or shared, key=lambda w: w.limit)
        lane = QuotaLane(self._ledgers([*own, *shared]), held.name)
        self._lanes[(plan.application, bucket)] = lane
        return lane

    async def acquire(self, plan: QuotaPlan, api: str, recipient: str) -> None:
        lane = self._lane(plan, api)
        if lane is None:
            return
        if not (self.share < 1 and lane.long_windows):
            await self._turn(lane, recipient)
            return
        now = self._seconds()
        wait = lane.share_wait(recipient, now, self.share)
        if wait > 0:
            raise ShareSpent(f"Your share ({self.share:.0%}) of the data source's quota is "
                             "used for now; retry later.", retry_after=max(1, math.ceil(wait)))
        # Reserved before the turn, so that requests queued together all count: a burst must
        # not pass the check at once and take the whole window.
        starts = lane.starts.setdefault(recipient, deque())
        starts.append(now)
        try:
            await self._turn(lane, recipient)
        except BaseException:
            # Given back, unless a turn longer than the longest window let another request
            # of the recipient's prune it already.
            with contextlib.suppress(ValueError):
                starts.remove(now)
            if not starts:
                lane.starts.pop(recipient, None)
            raise

    async def _turn(self, lane: QuotaLane, recipient: str) -> None:
        lane.prune()
        if not lane.queues and lane.probe is not None:
            await asyncio.shield(lane.probe)  # the ledger's fresh answer, then queue behind it
        elif not lane.queues:
            lane.probe = asyncio.get_running_loop().create_future()
            try:
                lane.last_wait = await lane.ledger.take()
            finally:
                probe, lane.probe = lane.probe, None
                probe.set_result(None)
            if lane.last_wait == 0.0:
                self.granted += 1
                return
        estimate = lane.estimate(recipient)
        if estimate > self.max_wait:
            raise self._busy(estimate)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lane.queues.setdefault(recipient, deque()).append(future)
        if lane.dispatcher is None or lane.dispatcher.done():
            lane.dispatcher = asyncio.create_task(self._dispatch(lane))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout=self.max_wait)
        except TimeoutError:
            if future.done() and not future.cancelled() and future.exception() is None:
                return  # granted at the deadline: the start is counted, use it
            future.cancel()
            raise self._busy(lane.estimate(recipient)) from None
        except asyncio.CancelledError:
            future.cancel()
            raise

    async def backoff(self, plan: QuotaPlan, api: str, seconds: float | None) -> float:
        lane = self._lane(plan, api)
        if lane is None:
            return 0.0
        hold = seconds if seconds is not None and seconds > 0 else \
            lane.unexplained_hold(self._seconds())
        await lane.ledger.hold(hold, {lane.held})
        lane.last_wait = max(lane.last_wait, hold)
        self.backoffs += 1
        return hold

    def settled(self, plan: QuotaPlan, api: str) -> None:
        lane = self._lane(plan, api)
        if lane is not None:
            lane.unexplained = 0

    async def headroom(self) -> dict[tuple[str, str], tuple[int, int]]:
        found: dict[tuple[str, str], tuple[int, int]] = {}
        for (application, _), lane in list(self._lanes.items()):
            for name, room in (await lane.ledger.headroom()).items():
                found[(application, name.removeprefix(application + "/"))] = room
        return found

    def waiting(self) -> int:
        """How many requests are queued, over every lane."""
        return sum(lane.waiting for lane in self._lanes.values())

    def _busy(self, estimate: float) -> QuotaBusy:
        return QuotaBusy("The data source is at its request quota; retry later.",
                         retry_after=max(1, math.ceil(estimate)))

    async def _dispatch(self, lane: QuotaLane) -> None:
        while lane.live():
            try:
                wait = await lane.ledger.take()
            except Exception as exc:  # the ledger's database failed: every waiter learns it
                lane.fail_all(exc)
                return
            if wait > self.max_wait:
                # No one queued can be served within the bound (a longer window is full; the
                # admission estimate, reading one answer, may have let them queue): tell them
                # now rather than at the end of their wait.
                lane.last_wait = wait
                lane.fail_all(self._busy(wait))
                return
            if wait > 0:
                lane.last_wait = wait
                await self._sleep(wait)
                continue
            lane.last_wait = 0.0
            future = lane.next_waiter()
            if future is None:
                return  # everyone left while the start was taken: it stays spent (conservative)
            self.granted += 1
            future.set_result(None)

    async def close(self) -> None:
        for lane in self._lanes.values():
            if lane.dispatcher is not None:
                lane.dispatcher.cancel()
            lane.fail_all(self._busy(self.max_wait))
        for lane in self._lanes.values():
            await lane.ledger.close()

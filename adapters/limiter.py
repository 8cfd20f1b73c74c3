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
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence

from adapters.base import Quota
from adapters.errors import QuotaBusy, ShareSpent
from adapters.quota import API_SCOPE, QuotaPlan
from consent.shared_state.quota import DEFAULT_MARGIN, MemoryLedger, QuotaLedger, SlidingWindow

#: Builds the ledger of one lane over its windows (memory, or PostgreSQL for replicas).
LedgerFactory = Callable[[Sequence[SlidingWindow]], QuotaLedger]


class _Lane:
    """One bucket: its ledger, the window a 429 holds, and the recipients' waiting lines."""

    def __init__(self, ledger: QuotaLedger, held: str) -> None:
        self.ledger = ledger
        self.held = held
        windows = ledger.windows
        self.per_call = max(w.period / w.limit for w in windows)
        #: The spacing of starts while only the shortest window binds (5 a second), as long
        #: as the longer ones (1,000 an hour) have room.
        self.burst_call = min(w.period / w.limit for w in windows)
        self.shortest = min(w.period for w in windows)
        self.longest = max(w.period for w in windows)
        #: The windows a recipient gets a share of (an hour's, a day's quota): over the
        #: shortest one, round-robin among those waiting is fairness enough.
        self.long_windows = [w for w in windows if w.period > self.shortest]
        #: Each recipient's starts in this lane (seconds), for its share of the long windows.
        self.starts: dict[str, deque[float]] = {}
        #: 429s without a wait that came in a row, and when the last one's hold ends.
        self.unexplained = 0
        self.unexplained_until, self.unexplained_hold_s = -math.inf, 0.0
        self.queues: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self.dispatcher: asyncio.Task[None] | None = None
        self.last_wait = 0.0  # the ledger's latest "come back in" answer
        #: Set while a caller of an idle lane asks the ledger directly (a database round
        #: trip): whoever comes meanwhile waits for that answer and then queues, rather than
        #: ask the ledger too (a herd of round trips, and turns given in the order the
        #: database happened to answer) or judge its wait by an answer from long ago.
        self.probe: asyncio.Future[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for queue in self.queues.values() for f in queue if not f.done())

    def prune(self) -> None:
        """Forget waiters that left (timed out, cancelled): a lane whose only waiters left
        is idle, and must ask the ledger again rather than trust its last answer."""
        for recipient in [r for r, queue in self.queues.items()
                          if all(f.done() for f in queue)]:
            del self.queues[recipient]

    def estimate(self, recipient: str) -> float:
        """Seconds a newcomer of ``recipient`` would wait, roughly: the next free start, then
        one start per turn ahead of it. Turns go round-robin, so ahead of it are its own
        waiters and, of each other recipient's, at most one more than its own: one app's
        burst does not push another app's request past the wait bound. Starts come at the
        shortest window's pace while the ledger's last answer says the longer ones have room
        (its wait is within the shortest window), else at the slowest window's."""
        own = sum(1 for f in self.queues.get(recipient, ()) if not f.done())
        ahead = own + sum(min(own + 1, sum(1 for f in queue if not f.done()))
                          for other, queue in self.queues.items() if other != recipient)
        pace = self.burst_call if self.last_wait <= self.shortest else self.per_call
        return self.last_wait + ahead * pace

    def share_wait(self, recipient: str, now: float, share: float) -> float:
        """Seconds until ``recipient`` is back under ``share`` of every long window (``0``:
        it is), counting the starts it took here."""
        starts = self.starts.get(recipient)
        if not starts:
            return 0.0
        while starts and starts[0] <= now - self.longest:
            starts.popleft()
        wait = 0.0
        for window in self.long_windows:
            cap = max(1, math.floor(window.limit * share + 1e-9))  # 0.29 x 100 is 29
            recent = [t for t in starts if t > now - window.period]
            if len(recent) >= cap:
                wait = max(wait, recent[-cap] + window.period - now)
        if not starts:
            del self.starts[recipient]
        return wait

    def unexplained_hold(self, now: float) -> float:
        """The hold of a 429 that names no wait: the shortest window, doubled for each such
        429 that comes less than one hold after the previous one's ended (a longer window is
        full: Enedis's hourly "Quota Q4 reached" names none), up to the longest window; one
        arriving while a hold runs (the same burst) holds no longer. An answer that is not a
        429 starts over (:meth:`FairLimiter.settled`). Probing a full hourly quota once a
        second would be refused 3,600 times; doubling asks a dozen times."""
        if now < self.unexplained_until:  # the same burst's other 429s: one hold, not more
            return self.unexplained_until - now
        if now > self.unexplained_until + self.unexplained_hold_s:
            self.unexplained = 0
        hold = float(min(self.shortest * 2 ** min(self.unexplained, 32), self.longest))
        self.unexplained += 1
        self.unexplained_until, self.unexplained_hold_s = now + hold, hold
        return hold

    def live(self) -> bool:
        return any(not f.done() for queue in self.queues.values() for f in queue)

    def next_waiter(self) -> asyncio.Future[None] | None:
        """Pop the first live waiter of the next recipient in turn (round-robin)."""
        while self.queues:
            recipient, queue = next(iter(self.queues.items()))
            self.queues.move_to_end(recipient)
            while queue and queue[0].done():  # cancelled or timed out
                queue.popleft()
            if not queue:
                del self.queues[recipient]
                continue
            future = queue.popleft()
            if not queue:
                del self.queues[recipient]
            return future
        return None

    def fail_all(self, error: BaseException) -> None:
        for queue in self.queues.values():
            for future in queue:
                if not future.done():
                    future.set_exception(error)
        self.queues.clear()


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
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._plans: dict[str, QuotaPlan] = {}
        self._shared: dict[str, list[SlidingWindow]] = {}
        self.granted = 0
        self.backoffs = 0

    def _window(self, plan: QuotaPlan, quota: Quota, scope: str) -> SlidingWindow:
        return SlidingWindow(quota.requests, quota.per, margin=self.margin, name=(
            f"{plan.application}/{scope}/{quota.requests}per{quota.per.total_seconds():g}s"))

    def _lane(self, plan: QuotaPlan, api: str) -> _Lane | None:
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
        lane = _Lane(self._ledgers([*own, *shared]), held.name)
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

    async def _turn(self, lane: _Lane, recipient: str) -> None:
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

    async def _dispatch(self, lane: _Lane) -> None:
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

"""A fair limiter that keeps every upstream API inside its quotas (never a 429 of ours).

The counting is a :class:`~consent.shared_state.QuotaLedger` over the quota windows that apply
to one upstream API (its own and the application-wide ones): in memory for one process, in
PostgreSQL for replicas sharing the DSO's quota. A :class:`FairLimiter` puts this process's
callers in front of it and hands out call slots round-robin across recipients, so one busy
recipient cannot starve the others. Across replicas the balancer spreads each recipient's
requests, so each replica's round-robin keeps the whole instance roughly fair; the ledger keeps
it *exactly* within quota.

A caller that would wait longer than ``max_wait`` is refused at once with
:class:`~adapters.errors.UpstreamRateLimited` carrying a ``Retry-After``: holding a request for
minutes helps nobody.
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict, deque
from collections.abc import Sequence

from adapters.errors import UpstreamRateLimited
from consent.shared_state.quota import DEFAULT_MARGIN, MemoryLedger, QuotaLedger, SlidingWindow

__all__ = ["DEFAULT_MARGIN", "FairLimiter", "SlidingWindow"]


class FairLimiter:
    """Call slots for one upstream API, under every window in ``windows``, fair per recipient.

    ``acquire(recipient)`` returns when a call may start now and counts it in every window.
    Waiters queue per recipient; slots go round-robin across recipients in arrival order.
    ``ledger`` counts the windows (default: in this process's memory).
    """

    def __init__(self, windows: Sequence[SlidingWindow], *, max_wait: float = 10.0,
                 ledger: QuotaLedger | None = None) -> None:
        self.windows = tuple(windows)
        self.ledger = ledger if ledger is not None else MemoryLedger(self.windows)
        self.max_wait = max_wait
        self._queues: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._dispatcher: asyncio.Task[None] | None = None
        self._last_wait = 0.0  # the ledger's latest "come back in" answer
        self.granted = 0

    @property
    def waiting(self) -> int:
        """How many callers are queued."""
        return sum(len(q) for q in self._queues.values())

    def estimate(self) -> float:
        """Seconds a newcomer would wait, roughly: next free slot plus one per queued caller."""
        per_call = max((w.period / w.limit for w in self.windows), default=0.0)
        return self._last_wait + self.waiting * per_call

    async def acquire(self, recipient: str) -> None:
        """Wait for a call slot, or raise :class:`UpstreamRateLimited` with ``retry_after``."""
        if not self._queues:
            self._last_wait = await self.ledger.take()
            if self._last_wait == 0.0:
                self.granted += 1
                return
        estimate = self.estimate()
        if estimate > self.max_wait:
            raise self._busy(estimate)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(recipient, deque()).append(future)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout=self.max_wait)
        except TimeoutError:
            if future.done() and not future.cancelled() and future.exception() is None:
                return  # granted at the deadline: the slot is counted, use it
            future.cancel()
            raise self._busy(self.estimate()) from None
        except asyncio.CancelledError:
            future.cancel()
            raise

    def _busy(self, estimate: float) -> UpstreamRateLimited:
        return UpstreamRateLimited(
            "The data source is at its request quota; retry later.",
            retry_after=max(1, math.ceil(estimate)))

    async def _dispatch(self) -> None:
        while self._has_live_waiter():
            try:
                wait = await self.ledger.take()
            except Exception as exc:  # the ledger's database failed: every waiter learns it
                self._fail_all(exc)
                return
            if wait > 0:
                self._last_wait = wait
                await asyncio.sleep(wait)
                continue
            self._last_wait = 0.0
            future = self._next_waiter()
            if future is None:
                return  # everyone left while the slot was taken: it stays spent (conservative)
            self.granted += 1
            future.set_result(None)

    def _has_live_waiter(self) -> bool:
        return any(not f.done() for queue in self._queues.values() for f in queue)

    def _fail_all(self, exc: Exception) -> None:
        for queue in self._queues.values():
            for future in queue:
                if not future.done():
                    future.set_exception(exc)
        self._queues.clear()

    def _next_waiter(self) -> asyncio.Future[None] | None:
        """Pop the first live waiter of the next recipient in turn (round-robin)."""
        while self._queues:
            recipient, queue = next(iter(self._queues.items()))
            self._queues.move_to_end(recipient)
            while queue and queue[0].done():  # cancelled or timed out
                queue.popleft()
            if not queue:
                del self._queues[recipient]
                continue
            future = queue.popleft()
            if not queue:
                del self._queues[recipient]
            return future
        return None

    async def close(self) -> None:
        """Stop dispatching; queued callers get a busy error."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        for queue in self._queues.values():
            for future in queue:
                if not future.done():
                    future.set_exception(self._busy(self.max_wait))
        self._queues.clear()

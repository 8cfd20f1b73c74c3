"""A shared, fair limiter that keeps every upstream API inside its quotas (never a 429 of ours).

Each quota ``N requests per T`` is a :class:`SlidingWindow`: at most ``N`` calls start in any
interval of length ``T`` (plus a safety margin for network jitter), which conforms whatever
window the DSO counts in, fixed or sliding. A :class:`FairLimiter` holds the windows that apply
to one upstream API (its own and the application-wide ones, shared between limiters) and hands
out call slots round-robin across recipients, so one busy recipient cannot starve the others.

A caller that would wait longer than ``max_wait`` is refused at once with
:class:`~adapters.errors.UpstreamRateLimited` carrying a ``Retry-After``: holding a request for
minutes helps nobody. Time comes from ``monotonic`` (injectable for tests).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from datetime import timedelta

from adapters.errors import UpstreamRateLimited

Monotonic = Callable[[], float]

#: Extra time added to every window: two calls sent ``T`` apart may arrive closer than that.
DEFAULT_MARGIN = 0.05


class SlidingWindow:
    """At most ``limit`` call starts in any interval of ``period`` seconds (times ``1+margin``)."""

    def __init__(self, limit: int, period: timedelta, *, margin: float = DEFAULT_MARGIN) -> None:
        if limit < 1:
            raise ValueError("a quota allows at least one call")
        self.limit = limit
        self.period = period.total_seconds() * (1 + margin)
        self._starts: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more call may start (0 if it may start now)."""
        while self._starts and now - self._starts[0] >= self.period:
            self._starts.popleft()
        if len(self._starts) < self.limit:
            return 0.0
        return self._starts[0] + self.period - now

    def record(self, now: float) -> None:
        """Count a call started at ``now``; only after :meth:`wait` returned 0."""
        self._starts.append(now)

    def __repr__(self) -> str:
        return f"SlidingWindow({self.limit}/{self.period:.3f}s)"


class FairLimiter:
    """Call slots for one upstream API, under every window in ``windows``, fair per recipient.

    ``acquire(recipient)`` returns when a call may start now and counts it in every window.
    Waiters queue per recipient; slots go round-robin across recipients in arrival order.
    """

    def __init__(self, windows: Sequence[SlidingWindow], *, max_wait: float = 10.0,
                 monotonic: Monotonic = time.monotonic) -> None:
        self.windows = tuple(windows)
        self.max_wait = max_wait
        self._now = monotonic
        self._queues: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._dispatcher: asyncio.Task[None] | None = None
        self.granted = 0

    def _wait(self, now: float) -> float:
        return max((w.wait(now) for w in self.windows), default=0.0)

    def _take(self, now: float) -> None:
        for window in self.windows:
            window.record(now)
        self.granted += 1

    @property
    def waiting(self) -> int:
        """How many callers are queued."""
        return sum(len(q) for q in self._queues.values())

    def estimate(self) -> float:
        """Seconds a newcomer would wait, roughly: next free slot plus one per queued caller."""
        now = self._now()
        per_call = max((w.period / w.limit for w in self.windows), default=0.0)
        return self._wait(now) + self.waiting * per_call

    async def acquire(self, recipient: str) -> None:
        """Wait for a call slot, or raise :class:`UpstreamRateLimited` with ``retry_after``."""
        now = self._now()
        if not self._queues and self._wait(now) == 0.0:
            self._take(now)
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
            if future.done() and not future.cancelled():
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
        while self._queues:
            delay = self._wait(self._now())
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            future = self._next_waiter()
            if future is None:
                return
            self._take(self._now())
            future.set_result(None)

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

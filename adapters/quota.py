"""Upstream quotas: never send a DSO more requests than it allows, and share them fairly.

A DSO's quota belongs to the operator's *application* (Data Connect: 5 requests/s and 1,000
requests/h per API, shared by every user of the application), so one recipient app must not be
able to spend it all. Adapters call :meth:`UpstreamLimiter.acquire` around each upstream HTTP
exchange; the recipient on whose behalf it runs comes from :func:`acting_for` (the proxy sets it
per request; background work runs as :data:`OPERATOR`).

:class:`TokenBucketLimiter` is the in-process implementation. Each declared
:class:`~adapters.base.Quota` ``N per T`` is a bucket of ``N`` tokens; a request takes one token
from every bucket that applies to it (its API's and the application-wide ones) and gives each back
**one period after the request has finished**. That refill rule is what makes the guarantee exact:
with a continuous-refill bucket, ``N`` burst tokens plus ``N`` refilled ones let ``2N`` requests
into some window of length ``T``, which a DSO counting per window answers with 429. Here any two
requests that use the same token reach the DSO at least ``T`` apart (the second starts after the
first *finished* plus ``T``, whatever the network did in between), so no window of length ``T``,
fixed or sliding, ever sees more than ``N`` of them.

Fairness: waiters queue per recipient, and free tokens go round-robin across recipients, so a
greedy recipient with a hundred queued requests delays another recipient's request by at most one
turn. A request that would wait longer than ``max_wait`` is refused at once with
:class:`~adapters.errors.UpstreamRateLimited` and a ``Retry-After``: holding it longer helps
nobody, and the caller can tell its recipient when to come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from adapters.base import Quota
from adapters.errors import UpstreamRateLimited

#: The recipient name used for work no recipient asked for (re-checks, warm-up, health).
OPERATOR = "operator"

_RECIPIENT: ContextVar[str] = ContextVar("passerelle_upstream_recipient", default=OPERATOR)

#: ``scope`` of a :class:`Quota` counted per upstream API rather than per application.
API_SCOPE = "api"


@contextlib.contextmanager
def acting_for(recipient: str) -> Iterator[None]:
    """Run the enclosed adapter calls on behalf of ``recipient`` (its quota turn, R16 trace)."""
    token = _RECIPIENT.set(recipient)
    try:
        yield
    finally:
        _RECIPIENT.reset(token)


def current_recipient() -> str:
    """The recipient the current task acts for (:data:`OPERATOR` if none was set)."""
    return _RECIPIENT.get()


@runtime_checkable
class UpstreamLimiter(Protocol):
    """Admission control in front of every upstream request.

    ``application`` names the operator's account at one DSO (quotas are per application);
    ``api`` names the upstream API the request goes to (Data Connect 2026 counts per API).
    """

    def declare(self, application: str, quotas: Sequence[Quota]) -> None:
        """Register the quotas of ``application``; declaring the same quotas again is a no-op."""
        ...

    def acquire(self, application: str, api: str,
                recipient: str) -> AbstractAsyncContextManager[None]:
        """Wait for a turn; the request runs inside the context, which releases it on exit.

        Raises :class:`~adapters.errors.UpstreamRateLimited` when the wait would exceed the
        limiter's bound, or when ``application`` was never declared (a configuration error must
        not mean an unlimited upstream).
        """
        ...


class _Bucket:
    """``limit`` tokens; a token returns ``period`` seconds after its request finished."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.in_use = 0
        self._returns: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._returns and self._returns[0] <= now:
            self._returns.popleft()

    def free(self, now: float) -> bool:
        self._expire(now)
        return self.in_use + len(self._returns) < self.limit

    def next_free(self, now: float) -> float:
        """When a token will be free: ``now``, a return time, or ``inf`` (all in flight)."""
        if self.free(now):
            return now
        return self._returns[0] if self._returns else math.inf

    def take(self) -> None:
        self.in_use += 1

    def give_back(self, now: float) -> None:
        self.in_use -= 1
        self._returns.append(now + self.period)


@dataclass(eq=False)
class _Waiter:
    recipient: str
    buckets: tuple[_Bucket, ...]
    future: asyncio.Future[None]


@dataclass(eq=False)
class _Application:
    """The buckets and the waiting line of one application."""

    quotas: tuple[Quota, ...]
    shared: tuple[_Bucket, ...]
    per_api: dict[str, tuple[_Bucket, ...]] = field(default_factory=dict)
    queues: OrderedDict[str, deque[_Waiter]] = field(default_factory=OrderedDict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    dispatcher: asyncio.Task[None] | None = None


class TokenBucketLimiter:
    """The in-process :class:`UpstreamLimiter` (see the module docstring).

    ``replicas`` divides every quota (rounded down, at least 1) so that that many processes,
    each with its own limiter, stay inside the DSO's quota together. ``monotonic`` is injectable
    for tests.
    """

    def __init__(self, *, max_wait: float = 30.0, replicas: int = 1,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if replicas < 1:
            raise ValueError("replicas must be at least 1")
        self.max_wait = max_wait
        self.replicas = replicas
        self._now = monotonic
        self._apps: dict[str, _Application] = {}
        self.granted = 0

    def _bucket(self, quota: Quota) -> _Bucket:
        return _Bucket(max(1, quota.requests // self.replicas), quota.per.total_seconds())

    def declare(self, application: str, quotas: Sequence[Quota]) -> None:
        existing = self._apps.get(application)
        if existing is not None:
            if existing.quotas != tuple(quotas):
                raise ValueError(f"{application!r} was already declared with other quotas")
            return
        shared = tuple(self._bucket(q) for q in quotas if q.scope != API_SCOPE)
        self._apps[application] = _Application(tuple(quotas), shared)

    def _buckets(self, app: _Application, api: str) -> tuple[_Bucket, ...]:
        own = app.per_api.get(api)
        if own is None:
            own = app.per_api[api] = tuple(self._bucket(q) for q in app.quotas
                                           if q.scope == API_SCOPE)
        return own + app.shared

    @contextlib.asynccontextmanager
    async def acquire(self, application: str, api: str, recipient: str) -> AsyncIterator[None]:
        app = self._apps.get(application)
        if app is None:
            raise UpstreamRateLimited(f"No quota is declared for {application!r}; refusing to "
                                      "call an upstream without one.", retry_after=60)
        buckets = self._buckets(app, api)
        await self._admit(app, buckets, recipient)
        try:
            yield
        finally:
            now = self._now()
            for bucket in buckets:
                bucket.give_back(now)
            app.changed.set()

    async def _admit(self, app: _Application, buckets: tuple[_Bucket, ...],
                     recipient: str) -> None:
        now = self._now()
        if not app.queues and all(b.free(now) for b in buckets):
            self._take(buckets)
            return
        wait = max(b.next_free(now) for b in buckets) - now
        if wait > self.max_wait and not math.isinf(wait):
            raise self._busy(wait)
        waiter = _Waiter(recipient, buckets, asyncio.get_running_loop().create_future())
        app.queues.setdefault(recipient, deque()).append(waiter)
        app.changed.set()
        if app.dispatcher is None or app.dispatcher.done():
            app.dispatcher = asyncio.create_task(self._dispatch(app))
        try:
            async with asyncio.timeout(self.max_wait):
                await asyncio.shield(waiter.future)
        except TimeoutError:
            if waiter.future.done() and not waiter.future.cancelled():
                return  # granted at the deadline: the tokens are taken, use them
            waiter.future.cancel()
            raise self._busy(self._estimate(buckets)) from None
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                now = self._now()  # granted, then cancelled: hand the tokens straight back
                for bucket in buckets:
                    bucket.give_back(now)
                app.changed.set()
            waiter.future.cancel()
            raise

    def _take(self, buckets: tuple[_Bucket, ...]) -> None:
        for bucket in buckets:
            bucket.take()
        self.granted += 1

    def _estimate(self, buckets: tuple[_Bucket, ...]) -> float:
        now = self._now()
        wait = max(b.next_free(now) for b in buckets) - now
        return self.max_wait if math.isinf(wait) else wait

    def _busy(self, wait: float) -> UpstreamRateLimited:
        return UpstreamRateLimited("The data source's request quota is in use; retry later.",
                                   retry_after=max(1, math.ceil(wait)))

    async def _dispatch(self, app: _Application) -> None:
        """Hand free tokens to waiters, one recipient after the other, until none wait."""
        while app.queues:
            app.changed.clear()
            now = self._now()
            if self._grant_one(app, now):
                continue
            wake = min((max(b.next_free(now) for b in w.buckets)
                        for queue in app.queues.values() for w in queue), default=math.inf)
            timeout = None if math.isinf(wake) else max(wake - now, 0.0)
            with contextlib.suppress(TimeoutError):
                # A release or a new waiter sets ``changed``; otherwise wake when a token returns.
                await asyncio.wait_for(app.changed.wait(), timeout)

    def _grant_one(self, app: _Application, now: float) -> bool:
        """Grant the first admissible waiter in round-robin order; False if none can go."""
        for recipient in list(app.queues):
            queue = app.queues[recipient]
            for waiter in list(queue):
                if waiter.future.done():  # timed out or cancelled
                    queue.remove(waiter)
            if not queue:
                del app.queues[recipient]
                continue
            for waiter in queue:
                if all(b.free(now) for b in waiter.buckets):
                    queue.remove(waiter)
                    if queue:
                        app.queues.move_to_end(recipient)
                    else:
                        del app.queues[recipient]
                    self._take(waiter.buckets)
                    waiter.future.set_result(None)
                    return True
        return False

    def waiting(self, application: str) -> int:
        """How many requests of ``application`` wait for a turn."""
        app = self._apps.get(application)
        return 0 if app is None else sum(len(q) for q in app.queues.values())

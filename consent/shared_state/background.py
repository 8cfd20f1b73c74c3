"""Background work of the shared-state leases, finished before the database goes away.

:class:`~consent.shared_state.quota_leases.LeasedLedger` and
:class:`~consent.shared_state.buckets.LeasedBuckets` take their next lease *ahead*, in tasks
nobody awaits (as :class:`~consent.snapshots.SnapshotCache` reads its keys again ahead). Each
such task holds a pooled connection while its statement runs; disposing of the pool under it
leaves a connection unclosed (asyncpg warns, and the statement's result is lost anyway). Their
``close`` hands those tasks to :func:`finish`: at shutdown, after the last request and before
the database is disposed.

A lease taken ahead is a :class:`Deferred`: decided by a request, it starts
:data:`AFTER_REQUEST` later, once that request has most likely been answered, unless a request
needs it sooner (:meth:`Deferred.start`). Started at once, its statement ran at the deciding
request's next ``await`` (the DSO call), and its CPU and the database's landed on that
request's answer: at 25 requests a second on PostgreSQL, about one request in two took a quota
lease ahead (interleaved A/B, ``bench/README.md``, ninth session).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Coroutine
from typing import Any, Generic, TypeVar

#: How long :func:`finish` waits for a statement in flight before cancelling it.
FINISH_WAIT = 5.0
#: How long after the request that decided it background work starts (:class:`Deferred`).
AFTER_REQUEST = 0.02

T = TypeVar("T")


class Deferred(Generic[T]):
    """``work()`` run in a task of its own, started ``delay`` seconds from now (at once if
    ``delay <= 0``), or earlier by whoever needs its result first (:meth:`start`)."""

    def __init__(self, work: Callable[[], Coroutine[Any, Any, T]], delay: float) -> None:
        self._work = work
        self._task: asyncio.Task[T] | None = None
        self._timer: asyncio.TimerHandle | None = None
        if delay > 0:
            self._timer = asyncio.get_running_loop().call_later(delay, self.start)
        else:
            self.start()

    @property
    def task(self) -> asyncio.Task[T] | None:
        """The work's task once started, else ``None``."""
        return self._task

    def start(self) -> asyncio.Task[T]:
        """The work's task, started now if it was not yet."""
        if self._task is None:
            if self._timer is not None:
                self._timer.cancel()
            self._task = asyncio.get_running_loop().create_task(self._work())
        return self._task

    def cancel(self) -> bool:
        """Drop the work if it has not started; ``False`` if it has (it then runs on)."""
        if self._task is not None:
            return False
        if self._timer is not None:
            self._timer.cancel()
        return True

    async def close(self) -> None:
        """At shutdown: drop the work if it has not started, else :func:`finish` it."""
        if not self.cancel():
            assert self._task is not None
            await finish([self._task])


def ahead_delay(gap: float, remaining: int) -> float:
    """How long to defer taking the next lease: :data:`AFTER_REQUEST`, but at most half the
    time until it is needed (``remaining`` more starts, then the one that needs it, ``gap``
    seconds apart as the last two were), so that under load it still lands in time."""
    return max(0.0, min(AFTER_REQUEST, gap * (remaining + 1) / 2))


async def finish(tasks: Collection[asyncio.Task[object]], within: float | None = None) -> None:
    """Let ``tasks`` end (their connections back in the pool); cancel those still running
    after ``within`` seconds (default :data:`FINISH_WAIT`: a database that does not answer)."""
    if not tasks:
        return
    _done, pending = await asyncio.wait(set(tasks), timeout=FINISH_WAIT if within is None
                                        else within)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task

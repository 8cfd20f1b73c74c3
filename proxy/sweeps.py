"""Background sweeps: a job that deletes what is no longer needed, run every ``interval``
seconds for the life of the application (every replica runs its own; each job is written so
that two replicas sweeping at once only find less to do).

Used for the cache's days no consent needs (:mod:`proxy.data.setup`) and for answered
authorization requests past their replay window (:mod:`proxy.oauth.answer_once`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable


async def sweep_forever(name: str, job: Callable[[], Awaitable[int]], interval: float,
                        log: logging.Logger, removed: str) -> None:
    """Run ``job`` (it returns how many things it removed) every ``interval`` seconds, the
    first time at a random instant within the first interval, until cancelled. ``removed`` is
    the log message for a count above zero (one ``%d``). A failed run is logged and retried at
    the next interval, never fatal.

    The random start spreads the replicas' sweeps (rolled out together, they would all sweep
    at once, every interval) and keeps a sweep from racing the start of the application.
    """
    await asyncio.sleep(random.uniform(0, interval))  # noqa: S311 (spreading, not secrecy)
    while True:
        try:
            count = await job()
            if count:
                log.info(removed, count)
        except Exception:
            log.exception("%s failed; retried in %g s", name, interval)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def sweeping(name: str, job: Callable[[], Awaitable[int]], interval: float,
                   log: logging.Logger, removed: str) -> AsyncIterator[None]:
    """:func:`sweep_forever` as a task named ``name`` while the ``async with`` block runs."""
    task = asyncio.create_task(sweep_forever(name, job, interval, log, removed), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

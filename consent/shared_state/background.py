"""Background work of the shared-state leases, finished before the database goes away.

:class:`~consent.shared_state.quota_leases.LeasedLedger` and
:class:`~consent.shared_state.buckets.LeasedBuckets` take their next lease *ahead*, in tasks
nobody awaits (as :class:`~consent.snapshots.SnapshotCache` reads its keys again ahead). Each
such task holds a pooled connection while its statement runs; disposing of the pool under it
leaves a connection unclosed (asyncpg warns, and the statement's result is lost anyway). Their
``close`` hands those tasks to :func:`finish`: at shutdown, after the last request and before
the database is disposed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection

#: How long :func:`finish` waits for a statement in flight before cancelling it.
FINISH_WAIT = 5.0


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

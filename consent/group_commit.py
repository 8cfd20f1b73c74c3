"""Group commit: many callers' writes in one transaction, each caller waiting for its own.

A durable write costs one commit (on SQLite a ``fsync`` of the write-ahead log, and the single
write lock; on PostgreSQL a WAL flush). Callers that write at the same moment should share
that cost, not queue for the lock one after the other (on SQLite, concurrent writers that find
the lock taken even *sleep* in the busy handler, in steps of milliseconds). :class:`GroupCommit`
keeps one writer task: every item submitted while a batch is being written goes into the next
batch, written by one call to ``write``. Alone, an item is written at once: nothing waits for
company.

Each :meth:`GroupCommit.submit` returns only once its batch's ``write`` returned (durable) and
raises what ``write`` raised otherwise: a batch is written entirely or not at all, and every
caller of a failed batch learns that its item is not durable. What ``write`` returns, if not
``None``, is called once the batch is durable, before the waiters are released (for example to
adopt in memory what the transaction made true).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

#: Writes one batch durably, or raises having written none of it; returns what to call after.
BatchWrite = Callable[[Sequence[T]], Awaitable[Callable[[], None] | None]]

log = logging.getLogger("passerelle.group_commit")


class GroupCommit(Generic[T]):
    """See the module docstring. ``max_batch`` caps one transaction's size; ``name`` names the
    writer task and the log lines."""

    def __init__(self, write: BatchWrite[T], *, max_batch: int = 1000,
                 name: str = "group-commit") -> None:
        self.write = write
        self.max_batch = max_batch
        self.name = name
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        #: Batches committed and items written so far (for tests and metrics).
        self.commits = 0
        self.written = 0

    def start(self) -> None:
        """Start the writer task (inside the running loop)."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._run(), name=self.name)

    async def submit(self, item: T) -> None:
        """Write ``item`` with whatever else is waiting; return once it is durable."""
        if self._closing or self._writer is None or self._writer.done():
            raise RuntimeError(f"{self.name} is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._wake.set()
        await future

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    batch = self._pending[: self.max_batch]
                    del self._pending[: self.max_batch]
                    await self._commit(batch)
                if self._closing:
                    return
        except BaseException:
            # Cancelled (the loop shutting down) or broken: nobody may wait for it forever.
            _fail(self._pending, RuntimeError(f"{self.name} stopped"))
            self._pending.clear()
            raise

    async def _commit(self, batch: Sequence[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            after = await self.write([item for item, _ in batch])
        except Exception as exc:  # every waiter must learn that its item is not durable
            log.exception("%s: could not commit a batch of %d", self.name, len(batch))
            _fail(batch, exc)
            return
        except BaseException:
            _fail(batch, RuntimeError(f"{self.name} stopped before the batch was durable"))
            raise
        if after is not None:
            after()
        self.commits += 1
        self.written += len(batch)
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    async def close(self) -> None:
        """Write what is pending, then stop the writer task."""
        self._closing = True
        self._wake.set()
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer


def _fail(waiting: Sequence[tuple[object, asyncio.Future[None]]], error: BaseException) -> None:
    """Tell every waiter of ``waiting`` that its item is not (known to be) durable."""
    for _, future in waiting:
        if not future.done():
            future.set_exception(error)

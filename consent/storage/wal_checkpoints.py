"""SQLite's write-ahead log checkpointed in the background, off the commits that answer requests.

In WAL mode SQLite copies the log back into the database file (a *checkpoint*) from inside
whichever ``COMMIT`` pushes the log past ``wal_autocheckpoint`` pages (1,000 by default): that
commit then also writes those pages and syncs the database file. On the data path the commit
is an access event's, which every answer waits for (R16), so one request in every few dozen
paid for a checkpoint: an access event with its evidence leaves writes about 20 pages, so
at 25 requests a second the auto-checkpoint ran every two seconds, on one request in fifty,
which is the p99 of the latency Passerelle adds (issue 4).

A server therefore opens its connections with the auto-checkpoint raised to
:data:`BACKSTOP_PAGES` (``Database.from_url(..., sqlite_autocheckpoint=BACKSTOP_PAGES)``)
and runs a :class:`WalCheckpointer`: every :data:`INTERVAL` seconds, on a thread and a
connection of its own, ``PRAGMA wal_checkpoint(PASSIVE)``. A passive checkpoint takes no
lock that writers or readers wait for (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html);
frames still needed by a reader are left for the next round. Should the checkpointer fall
behind or stop, the committing connection checkpoints at the backstop, as SQLite always does,
so the log stays bounded either way. Durability is unchanged: a commit is durable once its
log frames are synced (``synchronous=full``), the checkpoint only moves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from consent.storage.database import Database

log = logging.getLogger("passerelle.storage")

#: Seconds between two background checkpoints: at 25 events a second about 250 pages (1 MB)
#: each, a millisecond or two of the checkpointer's thread.
INTERVAL = 0.5

#: ``wal_autocheckpoint`` of a server's connections: only reached if the background
#: checkpointer falls behind (64 MB of log at 4 KB pages).
BACKSTOP_PAGES = 16_384


@dataclass(frozen=True, slots=True)
class Checkpointed:
    """One checkpoint's result, as SQLite reports it: ``busy`` if it could not run at all
    (another checkpoint held the lock), the log's frames and how many of them are now in the
    database file."""

    busy: bool
    log_frames: int
    checkpointed_frames: int


class WalCheckpointer:
    """Checkpoints the SQLite database at ``path`` every ``interval`` seconds once
    :meth:`start` ed, until :meth:`close`. A checkpoint that fails (disk full, the file
    replaced) is logged and tried again at the next interval: the backstop still bounds the
    log meanwhile."""

    def __init__(self, path: str, *, interval: float = INTERVAL) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.path = path
        self.interval = interval
        self.runs = 0  # checkpoints attempted, for tests and metrics
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-checkpoint")
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        """Start checkpointing in the background (on the running loop)."""
        if self._closed:
            raise RuntimeError("a closed checkpointer does not start again")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=repr(self))

    async def checkpoint(self) -> Checkpointed:
        """One passive checkpoint now, on the checkpointer's thread."""
        self.runs += 1
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)

    async def close(self) -> None:
        """Stop; a checkpoint in progress finishes first. Idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not self._closed:
            self._closed = True
            await asyncio.get_running_loop().run_in_executor(self._thread, self._disconnect)
            self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.checkpoint()
            except sqlite3.Error as exc:  # the next round tries again; the backstop holds
                log.warning("background WAL checkpoint failed: %s", exc)

    def _checkpoint(self) -> Checkpointed:  # on the checkpointer's thread
        if self._conn is None:
            # Autocommit (no implicit BEGIN): the pragma must run outside a transaction.
            self._conn = sqlite3.connect(self.path, isolation_level=None,
                                         check_same_thread=False)
        try:
            busy, frames, done = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            self._disconnect()  # a broken connection is not reused
            raise
        return Checkpointed(bool(busy), int(frames), int(done))

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __repr__(self) -> str:
        return f"WalCheckpointer({self.path!r}, every {self.interval:g} s)"


def checkpointer_for(db: Database, *, interval: float = INTERVAL) -> WalCheckpointer | None:
    """A checkpointer (not started) for ``db`` if it is a SQLite file, else ``None``. Open
    ``db`` with ``sqlite_autocheckpoint=BACKSTOP_PAGES``, or its commits keep checkpointing
    before this one has anything left to do."""
    path = db.sqlite_path
    return None if path is None else WalCheckpointer(path, interval=interval)

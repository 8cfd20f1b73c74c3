"""The evidence log: an append-only RFC 6962 Merkle tree in the database (R16).

``await log.append(event)`` returns once the event is durable, with its index. Appends are
*group-committed*: concurrent appends wait in a queue, and one flusher task per process writes
them in one transaction (at most ``max_batch``, after waiting ``max_latency`` seconds for more).
``await log.append_in(conn, events)`` writes them inside a caller's transaction instead, so a
fact and its evidence commit together (a consent change and its signed record, a batch of
``access_event`` rows and their leaves). Cached state (the frontier, chain heads) is only
adopted from committed transactions, so a rolled-back one leaves nothing stale behind.

One integrator at a time: the transaction starts by writing the head row, which locks it on
PostgreSQL (so several replicas can append to one database) and takes SQLite's write lock before
anything is read; on SQLite a process-wide lock also serialises this process's flushers.
Either way the head update is conditional on the size it read, so an unexpected concurrent
writer makes the transaction fail and retry rather than fork the tree.

Each leaf is the canonical JSON header of an event (:mod:`consent.evidence.leaves`).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.clock import Clock, SystemClock
from consent.evidence.canonical import format_instant
from consent.evidence.errors import EvidenceUnavailable
from consent.evidence.events import LogEvent
from consent.evidence.layout import Appended, CachedAppend, lay_out
from consent.evidence.leaves import Prepared, prepare
from consent.evidence.log_reader import CHUNK, ENTRY, LOG_ID, LogReader, fetch_nodes
from consent.evidence.log_statements import statement
from consent.evidence.merkle import EMPTY_ROOT, CompactRange, perfect_cover
from consent.storage.database import Database

_RETRIES = 5
_MAX_CACHED_CHAINS = 100_000
_sqlite_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary())


class _HeadMoved(Exception):
    """The head changed under an integrator that did not hold its lock."""


@dataclass(frozen=True, slots=True)
class Staged:
    """Appends written in a caller's transaction: where they will land once it commits."""

    results: list[Appended]
    committed: Callable[[], None]


@dataclass(frozen=True, slots=True)
class _Batch:
    results: list[Appended]
    compact: CompactRange
    chains: dict[str, int]


@dataclass(slots=True)
class _Pending:
    prepared: Prepared
    future: asyncio.Future[Appended]


def _bounded(chains: dict[str, int], items: Sequence[Prepared]) -> dict[str, int]:
    """``chains``, or only those of ``items`` past the cache's bound (memory stays bounded:
    the heads of the others are read again when needed)."""
    if len(chains) <= _MAX_CACHED_CHAINS:
        return chains
    return {i.event.chain: chains[i.event.chain] for i in items if i.event.chain is not None}


class EvidenceLog(LogReader):
    """Append events, read entries, prove inclusion and consistency."""

    def __init__(self, db: Database, *, origin: str, clock: Clock | None = None,
                 max_batch: int = 1000, max_latency: float = 0.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        super().__init__(db, origin=origin)
        self.clock = clock or SystemClock()
        self.max_batch = max_batch
        self.max_latency = max_latency
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._compact: CompactRange | None = None
        self._chains: dict[str, int] = {}
        self.transactions = 0  # committed append transactions, for tests and benchmarks

    # -- appending -------------------------------------------------------------------------

    async def append(self, event: LogEvent) -> Appended:
        """Append ``event``; return when it is committed."""
        pending = _Pending(prepare(event), asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await asyncio.shield(pending.future)

    async def append_many(self, events: Iterable[LogEvent]) -> list[Appended]:
        """Append ``events`` in order, in as few transactions as ``max_batch`` allows."""
        items = [prepare(event) for event in events]
        results: list[Appended] = []
        for start in range(0, len(items), self.max_batch):
            results.extend(await self._integrate(items[start:start + self.max_batch]))
        return results

    async def aclose(self) -> None:
        """Wait for queued appends to be written."""
        if self._flusher is not None:
            await self._flusher

    async def _flush(self) -> None:
        while self._queue:
            await asyncio.sleep(self.max_latency)
            batch = self._queue[: self.max_batch]
            del self._queue[: len(batch)]
            try:
                results = await self._integrate([p.prepared for p in batch])
            except Exception as exc:  # every waiter learns why its append failed
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            for pending, result in zip(batch, results, strict=True):
                if not pending.future.done():
                    pending.future.set_result(result)

    async def _integrate(self, items: Sequence[Prepared]) -> list[Appended]:
        for _attempt in range(_RETRIES):
            try:
                async with self._process_lock():
                    return await self._write(items) if items else []
            except (IntegrityError, _HeadMoved):
                self.forget()  # someone else wrote: reload and retry
        raise EvidenceUnavailable("The evidence log is contended; the append was not written.")

    def _process_lock(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """SQLite has no row lock: one integrator per database file in this process."""
        if self.db.dialect != "sqlite":
            return contextlib.nullcontext()
        locks = _sqlite_locks.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(str(self.db.engine.url), asyncio.Lock())

    async def append_in(self, conn: AsyncConnection, events: Sequence[LogEvent]) -> Staged:
        """Append ``events`` inside the caller's open transaction on ``conn``.

        They are durable when, and only if, the caller's transaction commits: so a fact and its
        evidence commit or roll back together (a consent change and its signed record, a batch
        of access events and their leaves). The head row stays locked until then (on SQLite the
        connection holds the write lock), so keep the rest of that transaction short. Call
        :meth:`Staged.committed` after the commit to let this process skip reloading the
        frontier on its next append; forgetting it only costs that reload.
        """
        if not events:
            return Staged([], lambda: None)
        items, now = [prepare(e) for e in events], format_instant(self.clock.now())
        batch = await conn.run_sync(self._write_on, items, now)
        return Staged(batch.results, lambda: self._adopt(batch))

    def append_in_sync(self, conn: Connection, events: Sequence[LogEvent]) -> Staged:
        """:meth:`append_in` on a synchronous connection: for a writer that runs a whole batch
        on a thread of its own (one thread hop per batch instead of one per statement, see
        :mod:`consent.event_writers`). Call :meth:`Staged.committed` on the event loop's
        thread, after the commit."""
        if not events:
            return Staged([], lambda: None)
        batch = self._write_on(conn, [prepare(e) for e in events],
                               format_instant(self.clock.now()))
        return Staged(batch.results, lambda: self._adopt(batch))

    async def _write(self, items: Sequence[Prepared]) -> list[Appended]:
        async with self.db.engine.begin() as conn:
            batch = await conn.run_sync(self._write_on, items, format_instant(self.clock.now()))
        self._adopt(batch)
        return batch.results

    def _write_on(self, conn: Connection, items: Sequence[Prepared], now: str) -> _Batch:
        """Integrate ``items`` on ``conn`` (in its transaction); touch no cached state, so a
        transaction that later rolls back leaves this object consistent. Synchronous, so the
        same code runs under ``AsyncConnection.run_sync`` and on a writer's own thread."""
        size, root = self._lock_head(conn, now)
        compact, chains = self._frontier(conn, size, root)
        self._load_chains(conn, chains, {i.event.chain for i in items} - {None})
        laid = lay_out(compact, chains, items, now)
        if laid.entries:
            insert_entry, insert_node = (statement("insert_entry", conn),
                                         statement("insert_node", conn))
            insert_entry.run(conn, laid.entries)
            insert_node.run(conn, laid.nodes)
            done = statement("advance", conn).run(conn, {
                "log": LOG_ID, "size_was": size, "new_size": compact.size,
                "new_root": compact.root(), "now": now})
            if done.rowcount != 1:
                raise _HeadMoved
        return _Batch(laid.results, compact, _bounded(chains, items))

    def plan_cached(self, events: Sequence[LogEvent]) -> CachedAppend | None:
        """The rows appending ``events`` would write, laid out on the frontier and chain heads
        this process last committed, without reading the database; ``None`` if any of them is
        not known here (then append through a transaction, which reads them).

        The plan holds only if the head is still where this process left it: whoever writes
        it must advance the head *on condition* that its size and root are still
        ``size_was`` and ``root_was``, in the same atomic statement or transaction as the
        rows, and write nothing otherwise (the next transactional append then finds the head
        elsewhere and reloads the frontier)."""
        cached = self._compact
        if cached is None or not events:
            return None
        if self.unknown_chains({e.chain for e in events if e.chain is not None}):
            return None  # before canonicalising anything: the caller looks them up and asks again
        items = [prepare(e) for e in events]
        compact, chains = CompactRange(cached.size, cached.hashes), dict(self._chains)
        root_was, now = compact.root(), format_instant(self.clock.now())
        laid = lay_out(compact, chains, items, now)
        batch = _Batch(laid.results, compact, _bounded(chains, items))
        return CachedAppend(
            size_was=cached.size, root_was=root_was, new_size=compact.size,
            new_root=compact.root(), now=now, entries=laid.entries, nodes=laid.nodes,
            results=laid.results, committed=lambda: self._adopt(batch))

    def unknown_chains(self, chains: set[str]) -> set[str] | None:
        """Which of ``chains`` have no cached head, or ``None`` if the frontier itself is not
        cached (then only a transaction, which reads it under the head's lock, will do)."""
        if self._compact is None:
            return None
        return {chain for chain in chains if chain not in self._chains}

    def frontier_mark(self) -> object:
        """The cached frontier, opaque: taken before reading heads for :meth:`learn_chains`."""
        return self._compact

    def learn_chains(self, heads: dict[str, int], *, frontier: object) -> None:
        """Cache chain heads read without the head's lock (``-1``: no entry yet) for
        :meth:`plan_cached`, if the cached frontier is still ``frontier``: what was read is then
        no older than it, and a plan holds only while the head is where it says. Otherwise
        dropped: a frontier adopted meanwhile may hold entries the read missed, and a plan on
        it would reuse a ``(chain, seq)`` (the unique index refuses the whole batch)."""
        if frontier is None or frontier is not self._compact:
            return
        for chain, seq in heads.items():
            self._chains.setdefault(chain, seq)

    def forget(self) -> None:
        """Drop the cached frontier and chain heads (someone else moved the head)."""
        self._compact, self._chains = None, {}

    def _adopt(self, batch: _Batch) -> None:
        """Remember the frontier and chain heads of a *committed* batch."""
        self._compact, self._chains = batch.compact, batch.chains
        self.transactions += 1

    def _lock_head(self, conn: Connection, now: str) -> tuple[int, bytes]:
        """Lock the head row, then read it. Writing it first takes PostgreSQL's row lock and
        SQLite's write lock before anything is read, so the read is current (a SQLite
        transaction that reads and then writes can fail on a stale snapshot). A new log gets
        its head first, race-free: of two first appends at once, one creates it and the other
        inserts nothing and then locks it like any later append.

        Not :func:`~consent.storage.row_lock.read_for_update`: on the data path, synchronous
        (it also runs on the SQLite writer's thread) and compiled once, and a real write
        (``updated_at``), so one ``UPDATE ... RETURNING`` locks and reads the head in one
        round trip on both backends."""
        row = self._touch_head(conn, now)
        if row is None:
            statement("create_head", conn).run(conn, {
                "log": LOG_ID, "origin": self.default_origin, "root": EMPTY_ROOT, "now": now})
            row = self._touch_head(conn, now)
        if row is None:
            raise EvidenceUnavailable("The evidence log's head could not be created.")
        return int(row[0]), bytes(row[1])

    @staticmethod
    def _touch_head(conn: Connection, now: str) -> Any:
        values = {"log": LOG_ID, "now": now}
        if conn.dialect.update_returning:  # one round trip
            rows = statement("touch_returning", conn).run(conn, values).fetchall()
        else:
            statement("touch", conn).run(conn, values)
            rows = statement("read_head", conn).run(conn, values).fetchall()
        return rows[0] if rows else None  # fetched whole: no statement left half-stepped

    def _frontier(self, conn: Connection, size: int,
                        root: bytes) -> tuple[CompactRange, dict[str, int]]:
        """The compact range at ``size`` and the known chain heads (copies)."""
        cached = self._compact
        if cached is not None and cached.size == size:
            compact, chains = CompactRange(cached.size, cached.hashes), dict(self._chains)
        else:  # another writer (or a rolled-back transaction of ours) moved the head
            cover = perfect_cover(0, size)
            found = fetch_nodes(conn, cover)
            compact, chains = CompactRange(size, [found[n] for n in cover]), {}
        if compact.root() != root:
            raise EvidenceUnavailable("The evidence log's stored nodes do not match its head.")
        return compact, chains

    def _load_chains(self, conn: Connection, chains: dict[str, int],
                     wanted: set[str | None]) -> None:
        missing = [c for c in wanted if c is not None and c not in chains]
        for start in range(0, len(missing), CHUNK):
            part = missing[start:start + CHUNK]
            rows = conn.execute(select(ENTRY.c.chain, func.max(ENTRY.c.seq))
                                .where(ENTRY.c.chain.in_(part)).group_by(ENTRY.c.chain))
            chains.update({chain: int(seq) for chain, seq in rows})

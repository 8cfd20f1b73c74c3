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

Each leaf is the canonical JSON *header* of an event (docs/evidence-format.md §Log entries)::

    {"at": ..., "chain": ..., "kind": ..., "payload": "<sha256 hex of the payload>",
     "refs": {...}, "seq": ..., "v": 1}

so the payload can be pruned later (R17) while the leaf, and every proof, stays checkable.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.clock import Clock, SystemClock
from consent.evidence.canonical import canonical, format_instant, sha256_hex
from consent.evidence.errors import EvidenceUnavailable
from consent.evidence.events import LogEvent
from consent.evidence.merkle import (
    EMPTY_ROOT,
    CompactRange,
    Node,
    Range,
    consistency_ranges,
    fold,
    inclusion_ranges,
    leaf_hash,
    perfect_cover,
)
from consent.evidence.tables import LogEntryRow, LogHeadRow, LogNodeRow
from consent.storage.compiled import Compiled, compiled_for
from consent.storage.database import Database

LOG_ID = "evidence"
LEAF_VERSION = 1
HEAD = LogHeadRow.__table__  # type: ignore[attr-defined]
ENTRY = LogEntryRow.__table__  # type: ignore[attr-defined]
NODE = LogNodeRow.__table__  # type: ignore[attr-defined]
_RETRIES = 5
_CHUNK = 500
_MAX_CACHED_CHAINS = 100_000
_sqlite_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary())


def _statement(name: str, conn: Connection) -> Compiled:
    """The integrator's statements, compiled once per dialect (they run in every batch of the
    data path: see :mod:`consent.storage.compiled`)."""
    return compiled_for(f"evidence-log.{name}", conn.dialect, _STATEMENTS[name],
                        column_keys=_COLUMNS.get(name))


_STATEMENTS: dict[str, Callable[[], Any]] = {
    "touch": lambda: update(HEAD).where(HEAD.c.log_id == bindparam("log")).values(
        updated_at=bindparam("now")),
    "touch_returning": lambda: update(HEAD).where(HEAD.c.log_id == bindparam("log")).values(
        updated_at=bindparam("now")).returning(HEAD.c.size, HEAD.c.root),
    "read_head": lambda: select(HEAD.c.size, HEAD.c.root).where(
        HEAD.c.log_id == bindparam("log")),
    "insert_entry": lambda: ENTRY.insert(),
    "insert_node": lambda: NODE.insert(),
    "advance": lambda: update(HEAD).where(HEAD.c.log_id == bindparam("log"),
                                          HEAD.c.size == bindparam("size_was")).values(
        size=bindparam("new_size"), root=bindparam("new_root"), updated_at=bindparam("now")),
}
_COLUMNS: dict[str, list[str]] = {
    "insert_entry": [c.key for c in ENTRY.columns if c.key not in ("pruned_at",
                                                                      "prune_reason")],
    "insert_node": ["level", "idx", "hash"],
}


class _HeadMoved(Exception):
    """The head changed under an integrator that did not hold its lock."""


@dataclass(frozen=True, slots=True)
class Appended:
    """Where an event landed."""

    index: int
    leaf_hash: bytes
    seq: int | None


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


@dataclass(frozen=True, slots=True)
class _Prepared:
    event: LogEvent
    at: str
    payload: str
    payload_sha256: str


@dataclass(slots=True)
class _Pending:
    prepared: _Prepared
    future: asyncio.Future[Appended]


def prepare(event: LogEvent) -> _Prepared:
    """Canonicalise the payload (in the caller's task, so the integrator only hashes)."""
    payload = canonical(dict(event.payload)).decode()
    return _Prepared(event, format_instant(event.at), payload, sha256_hex(payload.encode()))


def leaf_text(item: _Prepared, seq: int | None) -> str:
    header: dict[str, Any] = {"v": LEAF_VERSION, "kind": item.event.kind, "at": item.at,
                              "refs": item.event.refs.to_json(), "payload": item.payload_sha256}
    if item.event.chain is not None:
        header["chain"], header["seq"] = item.event.chain, seq
    return canonical(header).decode()


class EvidenceLog:
    """Append events, read entries, prove inclusion and consistency."""

    def __init__(self, db: Database, *, origin: str, clock: Clock | None = None,
                 max_batch: int = 1000, max_latency: float = 0.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.db = db
        self.default_origin = origin
        self._origin: str | None = None
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

    async def _integrate(self, items: Sequence[_Prepared]) -> list[Appended]:
        for _attempt in range(_RETRIES):
            try:
                async with self._process_lock():
                    return await self._write(items) if items else []
            except (IntegrityError, _HeadMoved):
                self._compact, self._chains = None, {}  # someone else wrote: reload and retry
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

    async def _write(self, items: Sequence[_Prepared]) -> list[Appended]:
        async with self.db.engine.begin() as conn:
            batch = await conn.run_sync(self._write_on, items, format_instant(self.clock.now()))
        self._adopt(batch)
        return batch.results

    def _write_on(self, conn: Connection, items: Sequence[_Prepared], now: str) -> _Batch:
        """Integrate ``items`` on ``conn`` (in its transaction); touch no cached state, so a
        transaction that later rolls back leaves this object consistent. Synchronous, so the
        same code runs under ``AsyncConnection.run_sync`` and on a writer's own thread."""
        size, root = self._lock_head(conn, now)
        compact, chains = self._frontier(conn, size, root)
        self._load_chains(conn, chains, {i.event.chain for i in items} - {None})
        entries: list[dict[str, Any]] = []
        nodes: list[dict[str, Any]] = []
        results: list[Appended] = []
        for item in items:
            seq = None
            if item.event.chain is not None:
                seq = chains[item.event.chain] = chains.get(item.event.chain, -1) + 1
            leaf = leaf_text(item, seq)
            digest = leaf_hash(leaf.encode())
            index = compact.size
            nodes.extend({"level": lv, "idx": ix, "hash": h}
                         for lv, ix, h in compact.append(digest))
            refs = item.event.refs
            entries.append({
                "idx": index, "kind": item.event.kind, "at": item.at,
                "chain": item.event.chain, "seq": seq, "leaf": leaf, "leaf_hash": digest,
                "payload": item.payload, "payload_sha256": item.payload_sha256,
                "tenant": refs.tenant, "consent_id": refs.consent_id,
                "household_id": refs.household_id, "recipient_id": refs.recipient_id,
                "mandate_id": refs.mandate_id, "logged_at": now,
            })
            results.append(Appended(index, digest, seq))
        if entries:
            insert_entry, insert_node = (_statement("insert_entry", conn),
                                         _statement("insert_node", conn))
            conn.exec_driver_sql(insert_entry.sql, [insert_entry.params(e) for e in entries])
            conn.exec_driver_sql(insert_node.sql, [insert_node.params(n) for n in nodes])
            advance = _statement("advance", conn)
            done = conn.exec_driver_sql(advance.sql, advance.params({
                "log": LOG_ID, "size_was": size, "new_size": compact.size,
                "new_root": compact.root(), "now": now}))
            if done.rowcount != 1:
                raise _HeadMoved
        if len(chains) > _MAX_CACHED_CHAINS:  # keep memory bounded: reload heads when needed
            chains = {item.event.chain: chains[item.event.chain] for item in items
                      if item.event.chain is not None}
        return _Batch(results, compact, chains)

    def _adopt(self, batch: _Batch) -> None:
        """Remember the frontier and chain heads of a *committed* batch."""
        self._compact, self._chains = batch.compact, batch.chains
        self.transactions += 1

    def _lock_head(self, conn: Connection, now: str) -> tuple[int, bytes]:
        """Lock the head row, then read it. Writing it first takes PostgreSQL's row lock and
        SQLite's write lock before anything is read, so the read is current (a SQLite
        transaction that reads and then writes can fail on a stale snapshot)."""
        values = {"log": LOG_ID, "now": now}
        if conn.dialect.update_returning:  # one round trip
            touch = _statement("touch_returning", conn)
            row = conn.exec_driver_sql(touch.sql, touch.params(values)).first()
        else:
            touch, read = _statement("touch", conn), _statement("read_head", conn)
            conn.exec_driver_sql(touch.sql, touch.params(values))
            row = conn.exec_driver_sql(read.sql, read.params(values)).first()
        if row is None:
            conn.execute(HEAD.insert().values(log_id=LOG_ID, origin=self.default_origin,
                                                    size=0, root=EMPTY_ROOT, updated_at=now))
            return 0, EMPTY_ROOT
        return int(row[0]), bytes(row[1])

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
        for start in range(0, len(missing), _CHUNK):
            part = missing[start:start + _CHUNK]
            rows = conn.execute(select(ENTRY.c.chain, func.max(ENTRY.c.seq))
                                .where(ENTRY.c.chain.in_(part)).group_by(ENTRY.c.chain))
            chains.update({chain: int(seq) for chain, seq in rows})

    # -- reading and proving ---------------------------------------------------------------

    async def origin(self) -> str:
        """The log's origin: fixed by its first append, whatever later instances are told, so
        every checkpoint of one log carries the same name (tlog-checkpoint §Note text)."""
        if self._origin is None:
            async with self.db.engine.connect() as conn:
                stored = (await conn.execute(select(HEAD.c.origin)
                                             .where(HEAD.c.log_id == LOG_ID))).scalar()
            if stored is None:
                return self.default_origin
            self._origin = str(stored)
        return self._origin

    async def head(self) -> tuple[int, bytes]:
        """Current size and root hash."""
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(HEAD.c.size, HEAD.c.root)
                                      .where(HEAD.c.log_id == LOG_ID))).first()
        return (0, EMPTY_ROOT) if row is None else (int(row.size), bytes(row.root))

    async def range_hashes(self, ranges: Sequence[Range]) -> list[bytes]:
        """Hashes of subtrees ``[lo, hi)``, from O(log n) stored perfect nodes each."""
        covers = [perfect_cover(lo, hi) for lo, hi in ranges]
        async with self.db.engine.connect() as conn:
            found = await conn.run_sync(fetch_nodes, {n for cover in covers for n in cover})
        return [fold([found[n] for n in cover]) for cover in covers]

    async def root_at(self, size: int) -> bytes:
        """Root hash of the tree when it had ``size`` leaves."""
        return EMPTY_ROOT if size == 0 else (await self.range_hashes([(0, size)]))[0]

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 audit path of leaf ``index`` in the tree of ``size`` leaves."""
        await self._check_size(size)
        return await self.range_hashes(inclusion_ranges(index, size))

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """RFC 9162 consistency proof from ``old_size`` to ``new_size``."""
        await self._check_size(new_size)
        return await self.range_hashes(consistency_ranges(old_size, new_size))

    async def _check_size(self, size: int) -> None:
        current, _root = await self.head()
        if size > current:
            raise EvidenceUnavailable(f"The log has {current} entries, not {size}.")

    async def entries(self, query: Select[Any], *, page: int = 5000) -> AsyncIterator[Any]:
        """Rows of ``query`` (a select over ``evidence_log_entry`` ordered by nothing), in index
        order, fetched ``page`` rows at a time (keyset pagination: no offset scans)."""
        last = -1
        while True:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(query.where(ENTRY.c.idx > last)
                                           .order_by(ENTRY.c.idx).limit(page))).all()
            for row in rows:
                yield row
            if len(rows) < page:
                return
            last = rows[-1].idx


def fetch_nodes(conn: Connection, wanted: Iterable[Node]) -> dict[Node, bytes]:
    """Stored perfect nodes by ``(level, index)``; a missing one is a broken log."""
    wanted = list(set(wanted))
    found: dict[Node, bytes] = {}
    for start in range(0, len(wanted), _CHUNK):
        part = wanted[start:start + _CHUNK]
        rows = conn.execute(select(NODE.c.level, NODE.c.idx, NODE.c.hash)
                            .where(tuple_(NODE.c.level, NODE.c.idx).in_(part)))
        found.update({(int(lv), int(ix)): bytes(h) for lv, ix, h in rows})
    if len(found) != len(wanted):
        raise EvidenceUnavailable("The evidence log lacks stored nodes it needs.")
    return found

"""One batch of access events, written in one durable transaction, as cheaply as possible.

:class:`~consent.access_events.GroupCommitSink` decides *what* goes in a batch; an
:class:`EventWriter` writes it. Every request waits for its event's commit (R16), so the cost of
one commit is on every answer's latency. Through the pooled SQLAlchemy engine a commit costs
about a millisecond of CPU (pool check-out, reset on return, one driver round trip per step:
on aiosqlite each is a thread hop); the writers here keep one connection of their own and use
the driver directly, which cuts that to a fifth:

* :class:`SqliteWriter`: one ``sqlite3`` connection on one thread; a batch is a single hop
  (``BEGIN IMMEDIATE``, ``executemany``, ``COMMIT``), with the database's ``synchronous`` level;
* :class:`PostgresWriter`: one asyncpg connection; a batch is one ``executemany``, which asyncpg
  runs in one transaction (atomic), with ``synchronous_commit`` never weaker than ``local``;
* :class:`CoreWriter`: SQLAlchemy on a connection of its own (no pool check-out and reset per
  batch). It is the writer whenever something must be written in the same transaction (the
  evidence log's leaves, :class:`~consent.access_events.BatchWriter`), and for other backends.

The statement and the value conversions come from the table's own SQLAlchemy column types
(:class:`_Insert`), so a row reads back through the ORM exactly as if the ORM had written it.
A batch either commits entirely or raises (nothing written): every waiter then learns that its
event is not durable.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from consent.access_events import AccessEvent, BatchWriter
    from consent.storage.database import Database

#: What to call once a batch's transaction has committed (from the ``also`` writer).
AfterCommit = Callable[[], None]

log = logging.getLogger("passerelle.access")


class EventWriter(Protocol):
    """Writes batches of access events; each :meth:`write` is one transaction."""

    async def write(self, events: Sequence[AccessEvent]) -> AfterCommit | None:
        """Commit every event of ``events`` durably, or raise having written none; return
        what to call now that the transaction has committed, if anything."""
        ...

    async def close(self) -> None:
        """Release the writer's connection."""
        ...


class _Insert:
    """``INSERT INTO access_event`` compiled once for one dialect (positional parameters),
    with the column types' own bind processors (instants in UTC, JSON arrays as text...)."""

    def __init__(self, table: sa.Table, dialect: Dialect) -> None:
        compiled = sa.insert(table).compile(dialect=dialect,
                                            column_keys=[c.key for c in table.columns])
        self.sql = compiled.string
        names = compiled.positiontup or []
        self._fields = [(name, table.c[name].type.bind_processor(dialect)) for name in names]

    def row(self, doc: dict[str, Any]) -> tuple[Any, ...]:
        """The parameters of one event's row (``doc`` as :func:`access_events.row_of` gives)."""
        return tuple(process(doc[name]) if process is not None else doc[name]
                     for name, process in self._fields)


def _rows(insert: _Insert, events: Sequence[AccessEvent]) -> list[tuple[Any, ...]]:
    from consent.access_events import row_of

    return [insert.row(row_of(event)) for event in events]


class SqliteWriter:
    """See the module docstring; ``synchronous`` is the database's ``PRAGMA synchronous``."""

    def __init__(self, path: str, table: sa.Table, dialect: Dialect, *,
                 synchronous: str = "full") -> None:
        self.path = path
        self.synchronous = synchronous
        self._insert = _Insert(table, dialect)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="access-events")
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", f"synchronous={self.synchronous.upper()}",
                       "foreign_keys=ON", "busy_timeout=5000"):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def _write(self, rows: list[tuple[Any, ...]]) -> None:  # on the writer thread
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(self._insert.sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def write(self, events: Sequence[AccessEvent]) -> AfterCommit | None:
        rows = _rows(self._insert, events)
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, rows)
        return None

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._thread, shut)
        self._thread.shutdown(wait=True)


class PostgresWriter:
    """See the module docstring; ``dsn`` is an asyncpg (libpq-style) DSN."""

    def __init__(self, dsn: str, table: sa.Table, dialect: Dialect) -> None:
        self.dsn = dsn
        self._insert = _Insert(table, dialect)
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        import asyncpg  # type: ignore[import-untyped]

        if self._conn is None or self._conn.is_closed():
            conn = await asyncpg.connect(self.dsn)
            if await conn.fetchval("SHOW synchronous_commit") == "off":
                # The server may be tuned for throughput; evidence never is (R16).
                log.warning("synchronous_commit is off on the server; access events use 'on'")
                await conn.execute("SET synchronous_commit = on")
            self._conn = conn
        return self._conn

    async def write(self, events: Sequence[AccessEvent]) -> AfterCommit | None:
        rows = _rows(self._insert, events)
        async with self._lock:
            conn = await self._connection()
            await conn.executemany(self._insert.sql, rows)  # one transaction (asyncpg >= 0.22)
        return None

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                await self._conn.close(timeout=5)
            self._conn = None


class CoreWriter:
    """See the module docstring. ``also`` writes in each batch's transaction."""

    def __init__(self, db: Database, table: sa.Table, *, also: BatchWriter | None = None
                 ) -> None:
        self.db = db
        self.table = table
        self.also = also
        self._conn: AsyncConnection | None = None

    async def write(self, events: Sequence[AccessEvent]) -> AfterCommit | None:
        from consent.access_events import row_of

        if self._conn is None:
            self._conn = await self.db.engine.connect()
        conn, after = self._conn, None
        try:
            async with conn.begin():
                await conn.execute(sa.insert(self.table), [row_of(event) for event in events])
                if self.also is not None:
                    after = await self.also.write(conn, events)
        except BaseException:
            # The connection may be broken (a fail-over): the next batch takes a fresh one.
            self._conn = None
            await _discard(conn)
            raise
        return after

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


async def _discard(conn: AsyncConnection) -> None:
    try:
        await conn.invalidate()
        await conn.close()
    except Exception:  # it is being thrown away; its own errors no longer matter
        log.debug("discarding the access-event connection failed", exc_info=True)


def writer_for(db: Database, table: sa.Table, *, also: BatchWriter | None = None
               ) -> EventWriter:
    """The cheapest writer for ``db``'s backend (a file database for SQLite), SQLAlchemy's
    when ``also`` must write in the same transaction."""
    url = db.engine.url
    if also is not None:
        return CoreWriter(db, table, also=also)
    if db.dialect == "sqlite" and url.database and url.database != ":memory:":
        return SqliteWriter(url.database, table, db.engine.dialect,
                            synchronous=db.sqlite_synchronous)
    if db.dialect == "postgresql":
        return PostgresWriter(db.asyncpg_dsn(), table, db.engine.dialect)
    return CoreWriter(db, table)

"""One batch of access events, written in one durable transaction, as cheaply as possible.

:class:`~consent.access_events.GroupCommitSink` decides *what* goes in a batch; an
:class:`EventWriter` writes it. Every request waits for its event's commit (R16), so the cost of
one commit is on every answer's latency. Through the pooled SQLAlchemy engine a commit costs
about a millisecond of CPU (pool check-out, reset on return, one driver round trip per step:
on aiosqlite each is a thread hop); the writers here keep one connection of their own and use
the driver directly, which cuts that to a fifth:

* :class:`SqliteWriter`: one synchronous connection on one thread; a batch is a single hop
  (``BEGIN IMMEDIATE``, ``executemany``, the evidence leaves, ``COMMIT``), with the
  database's ``synchronous`` level;
* :class:`PostgresWriter`: one asyncpg connection; a batch is one ``executemany``, which asyncpg
  runs in one transaction (atomic), with ``synchronous_commit`` never weaker than ``local``;
* :class:`~consent.pg_batch_writer.PostgresBatchWriter`: rows *and* evidence leaves in one
  statement per batch on PostgreSQL (one round trip instead of seven), falling back to
  :class:`CoreWriter` when a batch needs a read first, when the log's head moved under it,
  and for a few batches after that;
* :class:`CoreWriter`: SQLAlchemy's async engine on a connection of its own (no pool check-out
  and reset per batch), the whole batch in one ``run_sync`` stretch on the driver's cursor
  (:meth:`~consent.storage.compiled.Compiled.run`): the batch writer's fallback on PostgreSQL,
  and the writer of other backends.

The statement and the value conversions come from the table's own SQLAlchemy column types
(:class:`~consent.storage.compiled.Compiled`), so a row reads back through the ORM exactly as
if the ORM had written it.
A batch either commits entirely or raises: every waiter then learns that its event is not
known to be durable (a connection lost after the server committed leaves it written; this
process then adopts nothing of it in memory, and the next batch reads the log's head again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.storage.compiled import Compiled
from consent.storage.database import SQLITE_AUTOCHECKPOINT, sqlite_pragmas

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


def insert_all(table: sa.Table, dialect: Dialect) -> Compiled:
    """``INSERT INTO access_event`` compiled once for one dialect, every column bound."""
    return Compiled(sa.insert(table), dialect, column_keys=[c.key for c in table.columns])


def _rows(insert: Compiled, events: Sequence[AccessEvent]) -> list[Any]:
    from consent.access_events import row_of

    return [insert.params(row_of(event)) for event in events]


class SqliteWriter:
    """See the module docstring; ``synchronous`` and ``autocheckpoint`` are the database's
    ``PRAGMA synchronous`` and ``wal_autocheckpoint``.

    The writer's thread owns one synchronous SQLAlchemy connection to the file. A batch is one
    hop to that thread: ``BEGIN IMMEDIATE`` (the write lock first, so nothing read in the
    transaction can be stale), the events' ``executemany``, ``also``'s statements (the evidence
    log's leaves: through aiosqlite they were one thread hop each), ``COMMIT``.
    """

    def __init__(self, path: str, table: sa.Table, dialect: Dialect, *,
                 synchronous: str = "full", autocheckpoint: int = SQLITE_AUTOCHECKPOINT,
                 also: BatchWriter | None = None) -> None:
        self.path = path
        self.synchronous = synchronous
        self.autocheckpoint = autocheckpoint
        self.also = also
        self._insert = insert_all(table, dialect)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="access-events")
        self._conn: sa.Connection | None = None

    def _connect(self) -> sa.Connection:
        engine = sa.create_engine(f"sqlite:///{self.path}", poolclass=sa.pool.StaticPool)
        on_connect = sqlite_pragmas(self.synchronous, self.autocheckpoint)

        def autocommit_driver(dbapi_connection: sqlite3.Connection, record: Any) -> None:
            on_connect(dbapi_connection, record)
            # SQLAlchemy's recipe for SQLite: the driver's implicit deferred BEGIN is off, and
            # the "begin" hook below says BEGIN IMMEDIATE itself.
            dbapi_connection.isolation_level = None

        sa.event.listen(engine, "connect", autocommit_driver)
        sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine.connect()

    def _write(self, events: Sequence[AccessEvent]) -> AfterCommit | None:  # on the writer thread
        from consent.access_events import row_of

        if self._conn is None:
            self._conn = self._connect()
        conn, after = self._conn, None
        try:
            with conn.begin():
                self._insert.run(conn, [row_of(event) for event in events])
                if self.also is not None:
                    after = self.also.write(conn, events)
        except BaseException:
            # A broken connection (disk full, file replaced) is not reused.
            self._conn = None
            with contextlib.suppress(Exception):
                conn.invalidate()
                conn.close()
            raise
        return after

    async def write(self, events: Sequence[AccessEvent]) -> AfterCommit | None:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._write, events)

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                engine = self._conn.engine
                self._conn.close()
                engine.dispose()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._thread, shut)
        self._thread.shutdown(wait=True)


async def connect_durable(dsn: str) -> Any:
    """An asyncpg connection to ``dsn`` whose commits wait for the WAL flush (R16,
    ``synchronous_commit`` raised to ``on`` if the server has it ``off``), its transactions
    in READ COMMITTED whatever the server's default (the batch writer's conditional head
    update relies on re-reading a row it waited for, which stricter levels refuse)."""
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SHOW synchronous_commit") == "off":
            # The server may be tuned for throughput; evidence never is (R16).
            log.warning("synchronous_commit is off on the server; access events use 'on'")
            await conn.execute("SET synchronous_commit = on")
        await conn.execute(
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED")
    except BaseException:
        conn.terminate()
        raise
    return conn


class PostgresWriter:
    """See the module docstring; ``dsn`` is an asyncpg (libpq-style) DSN."""

    def __init__(self, dsn: str, table: sa.Table, dialect: Dialect) -> None:
        self.dsn = dsn
        self._insert = insert_all(table, dialect)
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect_durable(self.dsn)
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
        self._insert = insert_all(table, db.engine.dialect)
        self._conn: AsyncConnection | None = None

    def _write(self, conn: sa.Connection, events: Sequence[AccessEvent]) -> AfterCommit | None:
        """The batch's statements, in one synchronous stretch (``run_sync``): the rows on the
        driver's cursor (:meth:`Compiled.run`), then ``also``'s."""
        from consent.access_events import row_of

        self._insert.run(conn, [row_of(event) for event in events])
        return self.also.write(conn, events) if self.also is not None else None

    async def write(self, events: Sequence[AccessEvent]) -> AfterCommit | None:
        if self._conn is None:
            self._conn = await self.db.engine.connect()
        conn, after = self._conn, None
        try:
            async with conn.begin():
                after = await conn.run_sync(self._write, events)
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
    """The cheapest writer for ``db``'s backend: for a SQLite file :class:`SqliteWriter`; on
    PostgreSQL :class:`~consent.pg_batch_writer.PostgresBatchWriter` when ``also`` writes in
    each batch, else :class:`PostgresWriter`; :class:`CoreWriter` for anything else."""
    if db.sqlite_path is not None:
        return SqliteWriter(db.sqlite_path, table, db.engine.dialect,
                            synchronous=db.sqlite_synchronous,
                            autocheckpoint=db.sqlite_autocheckpoint, also=also)
    if also is not None and db.dialect == "postgresql":
        from consent.pg_batch_writer import PostgresBatchWriter

        return PostgresBatchWriter(db, table, also=also)
    if also is not None:
        return CoreWriter(db, table, also=also)
    if db.dialect == "postgresql":
        return PostgresWriter(db.asyncpg_dsn(), table, db.engine.dialect)
    return CoreWriter(db, table)

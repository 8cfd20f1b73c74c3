"""Access events and their evidence leaves in **one statement** per batch (PostgreSQL).

Written as a transaction, a batch of the data path costs seven round trips to PostgreSQL
(``BEGIN``, lock the log's head, the rows, the leaves, the nodes, advance the head,
``COMMIT``), and on this path every round trip is a send that wakes the server and a wait on
the event loop. :class:`PostgresBatchWriter` sends one:

.. code-block:: sql

    WITH head AS (UPDATE evidence_log_head SET size = <new>, root = <new root>, ...
                  WHERE log_id = ... AND size = <size was> AND root = <root was> RETURNING 1),
         rows AS (INSERT INTO access_event ... SELECT * FROM unnest(<column arrays>)
                  WHERE EXISTS (SELECT 1 FROM head)),
         entries AS (... evidence_log_entry ...), nodes AS (... evidence_log_node ...)
    SELECT count(*) FROM head

The leaves are laid out beforehand on the frontier this process last committed
(:meth:`~consent.evidence.access_trail.AccessTrail.plan`). One statement is one atomic, durable
transaction (autocommit, ``synchronous_commit`` never ``off``: R16, READ COMMITTED). The head
moves only if it is still where the plan found it: another writer's append in between (a
replica, or this process's own consent records) makes ``head`` empty, and then *nothing* is
written (every insert is conditional on it); the head's row lock makes that check current, as in
the transactional path. The batch then goes the transactional way (:class:`CoreWriter`, which
reads the head under its lock), as do the first batch (the frontier is not known yet) and,
backing off, the next few after a moved head (replicas appending in turn would otherwise pay
both ways).

A batch whose households (a consent's grantor, a mandate's mandator) or chain heads this
process does not hold in memory (up to 100,000 of each) reads them first, in one query and
without a lock (:meth:`~consent.evidence.log.EvidenceLog.learn_chains`): two round trips
instead of seven. When it does not help: several replicas move the head under each other, so
their batches mostly go the transactional way, as every batch did before this writer.

Should a plan still reuse an entry's ``(chain, seq)`` (a chain head cached stale), the unique
index refuses the statement and nothing is written: the cached frontier is dropped and the
batch goes the transactional way at once, rather than fail (503 to every request in it) and
fail again with each later batch on that chain.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from consent.event_writers import AfterCommit, CoreWriter, connect_durable, insert_all, log
from consent.evidence.log_reader import ENTRY, HEAD, LOG_ID, NODE
from consent.evidence.log_statements import statement_for
from consent.storage.compiled import Compiled
from consent.storage.database import DatabaseUnavailable

if TYPE_CHECKING:
    from consent.access_events import AccessEvent, BatchWriter
    from consent.evidence.access_trail import Missing
    from consent.storage.database import Database

#: Batches to send the transactional way after the head was found moved (doubling, at most).
MAX_BACKOFF = 64

# The households of consents (grantor) and mandates (mandator), and the last sequence number
# of evidence chains, in one round trip: (kind, key, value) rows, kind 0, 1 or 2.
_LOOK_UP = (
    "SELECT 0, id, grantor_id FROM consent WHERE id = ANY($1::text[]) "
    "UNION ALL SELECT 1, id, mandator_id FROM mandate WHERE id = ANY($2::text[]) "
    "UNION ALL SELECT 2, chain, max(seq)::text FROM evidence_log_entry "
    "WHERE chain = ANY($3::text[]) GROUP BY chain")


class PostgresBatchWriter:
    """See the module docstring. ``also`` lays out (and, on the fallback, writes) the leaves."""

    def __init__(self, db: Database, table: sa.Table, *, also: BatchWriter) -> None:
        dialect = db.engine.dialect
        self.dsn = db.asyncpg_dsn()
        self.also = also
        self.fallback = CoreWriter(db, table, also=also)
        # The very statements of the transactional path, sent as column arrays here.
        self._rows = insert_all(table, dialect)
        self._entries = statement_for("insert_entry", dialect)
        self._nodes = statement_for("insert_node", dialect)
        self._sql = _statement(dialect, [(table, self._rows), (ENTRY, self._entries),
                                         (NODE, self._nodes)])
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._backoff = 0
        self._skip = 0
        #: Batches written in one statement, and by the fallback (for tests and benchmarks).
        self.in_one = 0
        self.in_transaction = 0

    async def write(self, events: Sequence[AccessEvent]) -> AfterCommit | None:
        from consent.access_events import row_of

        plan = None
        if self._skip:
            self._skip -= 1
        else:
            plan = self.also.plan(events)
            missing = self.also.missing(events) if plan is None else None
            if missing is not None:  # households or chain heads not known here: read them
                await self._look_up(missing)
                plan = self.also.plan(events)
        if plan is not None:
            args: list[Any] = [plan.new_size, plan.new_root, plan.now, LOG_ID, plan.size_was,
                               plan.root_was]
            args += _columns(self._rows, [row_of(e) for e in events])
            args += _columns(self._entries, plan.entries)
            args += _columns(self._nodes, plan.nodes)
            try:
                sent = await self._send(args)
            except asyncpg.UniqueViolationError:
                # A leaf planned where one is: what this process cached is stale (nothing was
                # written). Read it all again under the head's lock, for this batch too.
                log.warning("a one-statement batch met an existing evidence entry; "
                            "retrying it the transactional way", exc_info=True)
                self.also.forget()
                sent = False
            if sent:
                self._backoff = 0
                self.in_one += 1
                return plan.committed
            # Someone appended since this process last did: nothing was written.
            self._backoff = min(MAX_BACKOFF, max(1, 2 * self._backoff))
            self._skip = self._backoff
        self.in_transaction += 1
        return await self.fallback.write(events)

    async def _look_up(self, missing: Missing) -> None:
        """Read what ``missing`` names in one query (a second round trip, not a transaction:
        see :meth:`~consent.evidence.log.EvidenceLog.learn_chains` for why no lock is needed,
        and why heads read while this process adopted a newer frontier are not kept)."""
        rows = await self._run("fetch", _LOOK_UP, missing.consents, missing.mandates,
                               missing.chains)
        found: dict[int, dict[str, Any]] = {0: {}, 1: {}, 2: {}}
        for kind, key, value in rows:
            found[kind][key] = value
        households = {key: found[0].get(key) for key in missing.consents}
        households |= {key: found[1].get(key) for key in missing.mandates}
        self.also.learn(missing, households, {chain: int(found[2].get(chain, -1))
                                              for chain in missing.chains})

    async def _send(self, args: list[Any]) -> bool:
        """Run the statement: ``True`` if it moved the head (and so wrote everything),
        ``False`` if the head was no longer where the plan found it (nothing written)."""
        return bool(await self._run("fetchval", self._sql, *args) == 1)

    async def _run(self, method: str, sql: str, *args: Any) -> Any:
        """``method`` (``fetch``, ``fetchval``) of this writer's connection, connected on
        first use; its failures translated as below."""
        async with self._lock:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await connect_durable(self.dsn)
                return await getattr(self._conn, method)(sql, *args)
            except asyncpg.PostgresError:
                # Refused by the server (nothing written), or the connection lost, which
                # asyncpg reports in this family too (is_outage knows those: a 503).
                if self._conn is not None and self._conn.is_closed():
                    self._conn = None
                raise
            except Exception as error:
                self._drop()
                # No connection, or it broke under the statement (the server restarted, the
                # network failed): a retryable 503 whatever the error's class.
                raise DatabaseUnavailable("The access-event writer lost its database "
                                          "connection; retry shortly.") from error
            except BaseException:
                self._drop()  # cancelled mid-statement: its state is unknown
                raise

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()

    async def close(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and not conn.is_closed():
                try:
                    await conn.close(timeout=5)
                except Exception:  # closing anyway; its own errors no longer matter
                    log.debug("closing the batch writer's connection failed", exc_info=True)
        await self.fallback.close()


def _columns(insert: Compiled, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """``rows`` as one list per column of ``insert`` (the arrays ``unnest`` zips back)."""
    params = [insert.params(row) for row in rows]
    if not params:
        return [[] for _ in insert.keys]
    return [list(column) for column in zip(*params, strict=True)]


def _array_of(column: sa.Column[Any], dialect: Dialect) -> str:
    """The array type a column's values are sent as. Text of any length goes as ``TEXT[]``:
    an explicit cast to ``VARCHAR(n)`` *truncates* an over-long value silently, whereas the
    insert's own assignment to the column refuses it, as the transactional path does."""
    base = column.type
    if isinstance(base, sa.TypeDecorator):
        base = base.impl_instance
    if isinstance(base, sa.String):
        return "TEXT[]"
    return f"{base.compile(dialect=dialect)}[]"


def _statement(dialect: Dialect, inserts: list[tuple[sa.Table, Compiled]]) -> str:
    """The batch's one statement (module docstring): ``$1``-``$6`` move the head, then one
    array parameter per column of each insert (:func:`_array_of`)."""
    quote = dialect.identifier_preparer
    parts = [f"head AS (UPDATE {quote.format_table(HEAD)} SET size = $1, root = $2, "  # noqa: S608
             "updated_at = $3 WHERE log_id = $4 AND size = $5 AND root = $6 RETURNING 1)"]
    n = 6
    for number, (table, insert) in enumerate(inserts):
        columns = [table.c[key] for key in insert.keys]
        arrays = []
        for column in columns:
            n += 1
            arrays.append(f"${n}::{_array_of(column, dialect)}")
        names = ", ".join(quote.format_column(column) for column in columns)
        parts.append(f"w{number} AS (INSERT INTO {quote.format_table(table)} ({names}) "  # noqa: S608
                     f"SELECT * FROM unnest({', '.join(arrays)}) "
                     "WHERE EXISTS (SELECT 1 FROM head))")
    # Table and column names and types from the schema only: no value reaches the text.
    return "WITH " + ",\n".join(parts) + "\nSELECT count(*) FROM head"

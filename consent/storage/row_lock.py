"""Lock rows, then read them: the transaction becomes their only writer before it decides.

A read-modify-write (read a row, decide, write it or rows that depend on it) is only correct if
no other transaction writes that row between the read and the commit; otherwise two of them
decide on the same old state and one's write is lost (two households moved into one free
point, two increments that add one). :func:`read_for_update` runs the caller's ``SELECT`` so
that the rows it returns are current and stay this transaction's until it ends:

* **PostgreSQL**: ``SELECT ... FOR UPDATE``, a row lock. A second transaction asking for the
  same row waits until the first commits or rolls back; under READ COMMITTED (PostgreSQL's
  default, which our engines keep) its locking read then sees the row's newest committed
  version (and leaves the row out if that version no longer matches the ``WHERE``), so it
  decides on what the first one wrote. Other rows are not held up. ``key_share=True`` asks
  for ``FOR NO KEY UPDATE`` instead: enough for a transaction that does not change the row's
  key, and rows that merely reference it (a foreign key check takes ``FOR KEY SHARE``) then
  need not wait.
* **SQLite**: no row locks, one writer for the whole database. A write that matches nothing
  (``UPDATE t SET c = c WHERE 0 = 1``) runs first: the driver opens the transaction and
  SQLite takes the database's write lock (waiting up to ``busy_timeout`` for another writer
  to commit); the ``SELECT`` that follows sees every committed write and no one else can
  commit until this transaction ends. Without it, the driver runs a read that comes before
  the transaction's first write *outside* the transaction (pysqlite begins only at the first
  write), so another writer may commit between that read and the write: a lost update.
  The change feed counts the empty write as one of its table (caches drop after the commit:
  harmless, and the writes that follow usually do the same).

Contract: call it in an open transaction, before reading what the transaction then decides
on; the lock lasts until the transaction ends. Taking it again is harmless. Keep what follows
short: on SQLite it holds up every writer of the database.

Not for every lock in the code: a queue that takes rows nobody holds (``SKIP LOCKED``, the
quota slots), one statement that locks, decides and writes at once (the rate buckets, the quota
ledger), a conditional ``UPDATE ... WHERE <what was read>`` that fails when another writer was
first, a SQLite connection that begins every transaction with ``BEGIN IMMEDIATE`` (the access
event writer), and the evidence log's head, whose write *is* its lock on both backends
(:meth:`EvidenceLog._lock_head <consent.evidence.log.EvidenceLog>`).
"""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import CursorResult, Select, Table, false, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

_Row = TypeVarTuple("_Row")


async def read_for_update(on: AsyncConnection | AsyncSession, query: Select[*_Row], *,
                          key_share: bool = False) -> CursorResult[*_Row]:
    """Run ``query`` (a ``SELECT`` of one table) in ``on``'s transaction, its rows locked
    first (see the module docstring); returns its result as ``conn.execute`` would. On a
    session, runs on the session's connection: rows, not ORM objects, and no autoflush."""
    conn: AsyncConnection = on if isinstance(on, AsyncConnection) else await on.connection()
    if conn.dialect.name == "postgresql":
        return await conn.execute(query.with_for_update(key_share=key_share))
    await conn.execute(_write_lock(_table_of(query)))
    return await conn.execute(query)


def _table_of(query: Select[*tuple[Any, ...]]) -> Table:
    froms = query.get_final_froms()
    if len(froms) != 1 or not isinstance(froms[0], Table):
        raise ValueError("read_for_update locks the rows of one table: select from one table")
    return froms[0]


def _write_lock(table: Table) -> Any:
    """A write that changes nothing: no row matches, and the column it names is no key, so
    not even the statement's plan involves a foreign key."""
    columns = list(table.columns)
    column = next((c for c in columns if not c.primary_key and not c.foreign_keys), columns[0])
    return update(table).where(false()).values({column: column})

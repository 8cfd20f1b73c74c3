"""Deleting old rows in short transactions: the one loop behind every background sweep's
delete (:func:`consent.answers.prune_answers`, :func:`consent.expiry_sweep.prune_expired`).

:func:`delete_older` walks the rows whose instant ``column`` is strictly before ``before``,
oldest first, ``batch`` rows per transaction, in ``(column, id)`` order with a keyset cursor:
a row read but not deleted (it stopped matching meanwhile) is stepped over, not read again by
every later batch, so a run is one pass over the old rows. Each batch commits on its own, so
a long backlog never holds a long lock and an interrupted run keeps what it did; replicas
running it at once only delete nothing twice. The delete repeats the conditions, so
a row that stopped matching between the read and the delete is not deleted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.storage.database import Database

#: Rows read (and at most deleted) per transaction: short transactions, short locks.
PRUNE_BATCH = 1000

#: Called in a batch's transaction with the rows it read (``id``, ``column``, ``extra``...);
#: returns how many more rows it deleted.
Then = Callable[[AsyncConnection, Sequence[sa.Row[Any]]], Awaitable[int]]


async def delete_older(db: Database, column: sa.Column[datetime], before: datetime, *,
                       among: sa.ColumnElement[bool] | None = None,
                       extra: Sequence[sa.Column[Any]] = (), then: Then | None = None,
                       batch: int = PRUNE_BATCH) -> int:
    """Delete the rows of ``column``'s table with ``column < before`` (and ``among``, a
    condition an index should serve with ``column``); see the module docstring. ``then`` runs
    in each batch's transaction. Returns how many rows went (``then``'s included)."""
    table = column.table
    scope = column < before if among is None else sa.and_(column < before, among)
    cursor: tuple[Any, Any] | None = None
    removed = 0
    while True:
        query = sa.select(table.c.id, column, *extra).where(scope)
        if cursor is not None:
            query = query.where(sa.tuple_(column, table.c.id) > cursor)
        query = query.order_by(column, table.c.id).limit(batch)
        async with db.engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if rows:
                result = await conn.execute(sa.delete(table).where(
                    table.c.id.in_([row[0] for row in rows]), scope))
                removed += result.rowcount or 0
                if then is not None:
                    removed += await then(conn, rows)
        if len(rows) < batch:
            return removed
        cursor = (rows[-1][1], rows[-1][0])

"""R17's weekly and monthly views in the database: the ``access_count`` table, and the folds that
move usage traces into it and out of it (the calendar is :mod:`consent.retention_calendar`).

A row counts the accesses of one period (``grain`` ``week`` or ``month``, ``[period_start,
period_end)``) that share what the household page and auditors filter by: tenant, API,
outcome, recipient, consent, mandate, point and dataset. Nothing else of an access survives
it (no instant, window, request id, rule or body hash). Its ``id`` is a digest of the grain,
the period and those fields, so a period and key is one row whoever writes it: counts are
added to it with an upsert.

Three folds, run in this order by the retention sweep (:mod:`consent.retention_sweep`):

* :func:`fold_access_events`: ``access_event`` rows older than 31 days are deleted and counted
  into their week (or month, or nowhere: :meth:`~consent.retention_calendar.Horizons.bucket`);
* :func:`fold_weeks`: weekly rows whose week ended more than 20 weeks ago are deleted and
  added to their month (or dropped, past the monthly view too);
* :func:`drop_months`: monthly rows whose month ended more than 20 months ago are deleted.

Each walks its rows oldest first, :data:`~consent.storage.pruning.PRUNE_BATCH` per
transaction. Replicas may run them at once: a batch deletes ``RETURNING`` what it deleted and
counts only that, and a row another transaction deleted first is not returned (PostgreSQL
re-checks a locked row once its deleter commits; SQLite has one writer at a time), so no access
is counted twice or lost. A batch's counts are upserted in ``id`` order, so two batches adding
to the same rows lock them in the same order (no deadlock).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field

from consent.access_events import ACCESS_EVENT_TABLE, requests_counted
from consent.models.base import TenantScoped, instant_field
from consent.retention_calendar import Bucket, Horizons
from consent.storage.database import Database
from consent.storage.pruning import PRUNE_BATCH, delete_older

#: What a count is kept by, besides its period (the ``access_event`` columns of that name).
KEY = ("tenant_id", "api", "outcome", "recipient_id", "consent_id", "mandate_id", "point",
       "dataset")


class AccessCountRow(TenantScoped, table=True):
    """The ``access_count`` table: accesses per week or month (see the module docstring)."""

    __tablename__ = "access_count"
    __table_args__ = (sa.Index("ix_access_count_grain_end", "grain", "period_end"),
                      sa.Index("ix_access_count_consent_start", "consent_id", "period_start"),
                      sa.Index("ix_access_count_point_start", "point", "period_start"))

    id: str = Field(primary_key=True, max_length=32)
    grain: str = Field(max_length=8)
    period_start: datetime = instant_field()
    period_end: datetime = instant_field()
    api: str = Field(max_length=32)
    outcome: str = Field(max_length=16)
    recipient_id: str | None = Field(default=None, max_length=64)
    consent_id: str | None = Field(default=None, max_length=64)
    mandate_id: str | None = Field(default=None, max_length=64)
    point: str | None = Field(default=None, max_length=64)
    dataset: str | None = Field(default=None, max_length=64)
    count: int


ACCESS_COUNT_TABLE: sa.Table = AccessCountRow.__table__  # type: ignore[attr-defined]
_EVENTS = ACCESS_EVENT_TABLE
_COUNTS = ACCESS_COUNT_TABLE

#: A deleted row -> the bucket its count goes to (``None``: dropped) and how many it counts.
Sorter = Callable[[sa.Row[Any]], tuple[Bucket | None, int]]


def count_id(bucket: Bucket, key: dict[str, Any]) -> str:
    """The ``id`` of ``key``'s row in ``bucket``: 128 bits of SHA-256 of both, in hex (short,
    since it is in every index entry; a collision would need about 2**64 rows)."""
    text = json.dumps([bucket.grain, bucket.start.isoformat(), *(key[k] for k in KEY)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def _add(conn: AsyncConnection, rows: dict[str, dict[str, Any]]) -> None:
    """Add each row's ``count`` to the stored row of its ``id`` (created if missing)."""
    if not rows:
        return
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(_COUNTS)
    statement = insert.on_conflict_do_update(
        index_elements=[_COUNTS.c.id], set_={"count": _COUNTS.c.count + insert.excluded.count})
    await conn.execute(statement, [rows[i] for i in sorted(rows)])  # one lock order


async def _fold(db: Database, column: sa.Column[datetime], before: datetime,
                among: sa.ColumnElement[bool] | None, sort: Sorter, batch: int) -> int:
    """Delete the rows of ``column``'s table before ``before`` (and ``among``), adding each
    deleted row's count to its bucket in the same transaction; how many rows went."""
    table = column.table
    scope = column < before if among is None else sa.and_(column < before, among)
    cursor: tuple[Any, Any] | None = None
    moved = 0
    while True:
        query = sa.select(table.c.id, column).where(scope)
        if cursor is not None:  # one pass: a row read but not deleted is stepped over
            query = query.where(sa.tuple_(column, table.c.id) > cursor)
        async with db.engine.begin() as conn:
            picked = (await conn.execute(query.order_by(column, table.c.id).limit(batch))).all()
            if picked:
                gone = (await conn.execute(sa.delete(table).where(
                    table.c.id.in_([row[0] for row in picked]), scope)
                    .returning(*table.c))).all()
                added: dict[str, dict[str, Any]] = {}
                for row in gone:
                    bucket, n = sort(row)
                    if bucket is None:
                        continue
                    key = {k: getattr(row, k) for k in KEY}
                    ident = count_id(bucket, key)
                    if ident in added:
                        added[ident]["count"] += n
                    else:
                        added[ident] = {"id": ident, "grain": bucket.grain,
                                        "period_start": bucket.start,
                                        "period_end": bucket.end, "count": n, **key}
                await _add(conn, added)
                moved += len(gone)
        if len(picked) < batch:
            return moved
        cursor = (picked[-1][1], picked[-1][0])


async def fold_access_events(db: Database, horizons: Horizons, *,
                             batch: int = PRUNE_BATCH) -> int:
    """Move ``access_event`` rows past the detail into the views; how many rows went. Each
    row counts the requests it stands for: one, or a summary's many (R16's refusals past the
    address limit, :func:`~consent.access_events.requests_counted`)."""
    return await _fold(db, _EVENTS.c.at, horizons.detail_before, None,
                       lambda row: (horizons.bucket(row.at),
                                    requests_counted(row.rule, row.values)), batch)


async def fold_weeks(db: Database, horizons: Horizons, *, batch: int = PRUNE_BATCH) -> int:
    """Move weekly rows past the weekly view into their months; how many rows went."""
    return await _fold(db, _COUNTS.c.period_end, horizons.weeks_before,
                       _COUNTS.c.grain == "week",
                       lambda row: (horizons.month(row.period_start), row._mapping["count"]),
                       batch)


async def drop_months(db: Database, horizons: Horizons, *, batch: int = PRUNE_BATCH) -> int:
    """Delete monthly rows past the monthly view; how many rows went."""
    return await delete_older(db, _COUNTS.c.period_end, horizons.months_before,
                              among=_COUNTS.c.grain == "month", batch=batch)


async def census(db: Database, horizons: Horizons) -> dict[str, int]:
    """How many rows each fold would move or delete at ``horizons`` (for a dry run)."""
    counts = sa.func.count()
    queries: Sequence[tuple[str, sa.Select[Any]]] = (
        ("access_events", sa.select(counts).select_from(_EVENTS).where(
            _EVENTS.c.at < horizons.detail_before)),
        ("weekly_counts", sa.select(counts).select_from(_COUNTS).where(
            _COUNTS.c.grain == "week", _COUNTS.c.period_end < horizons.weeks_before)),
        ("monthly_counts", sa.select(counts).select_from(_COUNTS).where(
            _COUNTS.c.grain == "month", _COUNTS.c.period_end < horizons.months_before)))
    async with db.engine.connect() as conn:
        return {name: int((await conn.execute(query)).scalar() or 0) for name, query in queries}

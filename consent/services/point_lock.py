"""One writer of a point's occupancy at a time (R8: one client at a time; R9).

Every change of who occupies a point reads the point's occupancies, decides, then writes (a
claim refuses if someone else holds the DSO's customer period, a move-in ends the previous
occupant, a move-out ends the current one). Two of them at once would both decide on the same
old state: two households moving into one free point. So each takes the point's lock, in its
transaction, *before* reading its occupancies, and the read is current:

* PostgreSQL: ``SELECT ... FOR NO KEY UPDATE`` on the ``metering_point`` row; a second writer
  waits for the first to commit, and (READ COMMITTED) its next statement sees what that one
  wrote. ``NO KEY``: rows that merely reference the point (consents, claims) need no wait.
* SQLite: a write that changes nothing takes the database's write lock first (reads before it
  are outside any transaction; a transaction that read, then writes, could fail on a stale
  snapshot), the same recipe as :mod:`consent.evidence.reseal`.

:func:`lock_new_point` also registers the point if it is unknown, race-free: ``INSERT ... ON
CONFLICT DO NOTHING`` (of two first claims at once, one inserts, the other inserts nothing and
then locks the same row) instead of the insert whose unique violation aborts the transaction.

The partial unique index ``uq_occupancy_open_point`` (one open occupancy per point) backs this
in the database.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import NotFound
from consent.identifiers import PointRef
from consent.models import MeteringPoint


async def lock_point(session: AsyncSession, point_id: str) -> None:
    """Hold ``point_id``'s occupancy lock until the caller's transaction ends (see above).
    Call it before reading the point's occupancies; taking it twice is harmless."""
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await conn.execute(select(MeteringPoint.id).where(MeteringPoint.id == point_id)
                           .with_for_update(key_share=True))
    else:
        await conn.execute(update(MeteringPoint).where(col(MeteringPoint.id) == point_id)
                           .values(timezone=MeteringPoint.timezone))


async def lock_new_point(session: AsyncSession, point: MeteringPoint) -> MeteringPoint:
    """The stored point of ``point``'s tenant and reference, locked (:func:`lock_point`);
    ``point`` (built and checked by :func:`~consent.services.registry.new_point`) is inserted
    first unless a point with that reference exists or is being inserted concurrently."""
    conn = await session.connection()
    table = MeteringPoint.__table__  # type: ignore[attr-defined]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = {column.name: getattr(point, column.name) for column in table.columns}
    await conn.execute(dialect.insert(table).values(values).on_conflict_do_nothing(
        index_elements=["tenant_id", "source", "identifier"]))
    stored = (await session.exec(select(MeteringPoint).where(
        MeteringPoint.tenant_id == point.tenant_id, MeteringPoint.source == point.source,
        MeteringPoint.identifier == point.identifier))).first()
    if stored is None:  # cannot happen: inserted above or already there (never deleted)
        raise NotFound(f"No metering point {PointRef(point.source, point.identifier)}.",
                       field="point")
    await lock_point(session, stored.id)
    return stored

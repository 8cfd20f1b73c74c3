"""One writer of a point's occupancy at a time (R8: one client at a time; R9).

Every change of who occupies a point reads the point's occupancies, decides, then writes (a
claim refuses if someone else holds the DSO's customer period, a move-in ends the previous
occupant, a move-out ends the current one). Two of them at once would both decide on the same
old state: two households moving into one free point. So each takes the point's lock, in its
transaction, *before* reading its occupancies, and the read is current: the ``metering_point``
row locked by :func:`~consent.storage.row_lock.read_for_update` (``FOR NO KEY UPDATE`` on
PostgreSQL, so rows that merely reference the point, consents and claims, need no wait; the
database's write lock on SQLite).

:func:`lock_new_point` also registers the point if it is unknown, race-free: ``INSERT ... ON
CONFLICT DO NOTHING`` (of two first claims at once, one inserts, the other inserts nothing and
then locks the same row) instead of the insert whose unique violation aborts the transaction.

The partial unique index ``uq_occupancy_open_point`` (one open occupancy per point) backs this
in the database.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import NotFound
from consent.identifiers import PointRef
from consent.models import MeteringPoint
from consent.storage.row_lock import read_for_update


async def lock_point(session: AsyncSession, point_id: str) -> None:
    """Hold ``point_id``'s occupancy lock until the caller's transaction ends (see above).
    Call it before reading the point's occupancies; taking it twice is harmless."""
    await read_for_update(session, select(MeteringPoint.id).where(MeteringPoint.id == point_id),
                          key_share=True)


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

"""What a household holds now: the metering points it occupies (R8)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.models import MeteringPoint, Occupancy


async def occupied_points(session: AsyncSession, tenant_id: str, household_id: str,
                          at: datetime) -> list[MeteringPoint]:
    """The points ``household_id`` occupies at ``at``, ordered by reference (R8: only those
    can be shared by it)."""
    statement = (
        select(MeteringPoint)
        .join(Occupancy, col(Occupancy.point_id) == col(MeteringPoint.id))
        .where(Occupancy.tenant_id == tenant_id, Occupancy.household_id == household_id,
               col(Occupancy.starts_at) <= at,
               or_(col(Occupancy.ends_at).is_(None), col(Occupancy.ends_at) > at))
    )
    points = list((await session.exec(statement)).all())
    return sorted(points, key=lambda p: p.ref)

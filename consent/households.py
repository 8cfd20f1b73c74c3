"""What a household holds now: the metering points it occupies (R8); and for a mandatary, the
households whose consents it may manage and on which points (R10, R11)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.lifecycle import MandateState
from consent.models import Mandate, MandateScope, MeteringPoint, Occupancy, Party
from consent.services.mandate_rules import acting_parties, mandate_point_ids


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


async def mandated_households(session: AsyncSession, tenant_id: str, party_id: str,
                              at: datetime) -> list[tuple[Party, list[MeteringPoint]]]:
    """The households whose consents ``party_id`` (or the organisation it works for) may
    manage at ``at``, each with the points its mandates cover and it still occupies (R8, R10),
    ordered by name."""
    acting = await acting_parties(session, tenant_id, party_id)
    mandates = (await session.exec(select(Mandate).where(
        Mandate.tenant_id == tenant_id, col(Mandate.mandatary_id).in_(acting),
        Mandate.state == MandateState.ACTIVE))).all()
    found: dict[str, tuple[Party, dict[str, MeteringPoint]]] = {}
    for mandate in mandates:
        if not (MandateScope(mandate.scope).manages_consents and mandate.validity.contains(at)):
            continue
        occupied = {p.id: p for p in await occupied_points(session, tenant_id,
                                                           mandate.mandator_id, at)}
        covered = await mandate_point_ids(session, mandate.id)
        household = await session.get(Party, mandate.mandator_id)
        if household is None:
            continue
        _, points = found.setdefault(household.id, (household, {}))
        points.update({pid: occupied[pid] for pid in covered if pid in occupied})
    return sorted(((h, sorted(p.values(), key=lambda m: m.ref)) for h, p in found.values()
                   if p), key=lambda item: item[0].name)

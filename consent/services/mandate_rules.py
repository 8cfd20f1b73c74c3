"""Does a mandatary hold an active mandate that covers what it wants to do? (R2, R10, R11)"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import NotFound, NotPermitted
from consent.lifecycle import MandateState
from consent.models import Mandate, MandatePoint, MandateScope


async def mandate_point_ids(session: AsyncSession, mandate_id: str) -> set[str]:
    """The ids of the points a mandate covers."""
    statement = select(MandatePoint.point_id).where(MandatePoint.mandate_id == mandate_id)
    return set((await session.exec(statement)).all())


async def covering_mandate(session: AsyncSession, *, tenant_id: str, mandator_id: str,
                           mandatary_id: str, point_ids: Collection[str],
                           datasets: Collection[str], at: datetime,
                           manage_consents: bool) -> Mandate:
    """An active mandate from ``mandator_id`` to ``mandatary_id``, valid at ``at``, whose scope,
    points and datasets cover the request.

    Raises :class:`NotFound` when the mandatary holds no active mandate of that household at
    all (it learns nothing about the household), :class:`NotPermitted` when it holds one that
    does not cover the request.
    """
    statement = select(Mandate).where(
        Mandate.tenant_id == tenant_id, Mandate.mandator_id == mandator_id,
        Mandate.mandatary_id == mandatary_id, col(Mandate.state) == MandateState.ACTIVE,
    ).order_by(col(Mandate.created_at))
    mandates = [m for m in (await session.exec(statement)).all() if m.validity.contains(at)]
    if not mandates:
        raise NotFound("No active mandate of this household names you.", field="mandate")
    for mandate in mandates:
        scope = MandateScope(mandate.scope)
        if not (scope.manages_consents if manage_consents else scope.reads_data):
            continue
        if not set(datasets) <= set(mandate.datasets):
            continue
        if set(point_ids) <= await mandate_point_ids(session, mandate.id):
            return mandate
    raise NotPermitted("Your mandate from this household does not cover these points, datasets "
                       "or actions.", field="mandate", rule="R10")

"""Lookups shared by the services. Every one filters on the tenant (R24) and raises
:class:`~consent.errors.NotFound` rather than returning ``None`` to a caller that would use it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import or_
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import NotFound
from consent.identifiers import PointRef
from consent.models import MeteringPoint, Occupancy

T = TypeVar("T", bound=SQLModel)


async def get_row(session: AsyncSession, model: type[T], tenant_id: str, row_id: str,
                  what: str) -> T:
    """The row of ``model`` with ``row_id`` in ``tenant_id``, or :class:`NotFound`."""
    statement = select(model).where(
        col(model.id) == row_id,  # type: ignore[attr-defined]
        col(model.tenant_id) == tenant_id,  # type: ignore[attr-defined]
    )
    row = (await session.exec(statement)).first()
    if row is None:
        raise NotFound(f"No {what} with id {row_id!r}.", field=f"{what.replace(' ', '_')}_id")
    return row


async def points_by_ref(session: AsyncSession, tenant_id: str,
                        refs: Sequence[PointRef]) -> list[MeteringPoint]:
    """The points named by ``refs``, in the same order; :class:`NotFound` names the first
    unknown one."""
    points = []
    for ref in refs:
        statement = select(MeteringPoint).where(
            MeteringPoint.tenant_id == tenant_id, MeteringPoint.source == ref.source,
            MeteringPoint.identifier == ref.identifier,
        )
        point = (await session.exec(statement)).first()
        if point is None:
            raise NotFound(f"No metering point {ref} is registered here.", field="points")
        points.append(point)
    return points


async def occupancy_at(session: AsyncSession, point_id: str, at: datetime) -> Occupancy | None:
    """The occupancy of ``point_id`` that contains ``at``, if any (R8)."""
    statement = select(Occupancy).where(
        Occupancy.point_id == point_id, col(Occupancy.starts_at) <= at,
        or_(col(Occupancy.ends_at).is_(None), col(Occupancy.ends_at) > at),
    )
    return (await session.exec(statement)).first()


async def live_on_points(session: AsyncSession, model: type[T], link: type[SQLModel],
                         owner_column: str, *, tenant_id: str, point_ids: set[str],
                         states: Collection[str]) -> list[T]:
    """The rows of ``model`` (consents, mandates) in one of ``states`` that cover one of
    ``point_ids`` through ``link`` (whose ``owner_column`` names them), oldest first."""
    owner = getattr(link, owner_column)
    covering = select(owner).where(col(link.point_id).in_(point_ids))  # type: ignore[attr-defined]
    statement = select(model).where(
        col(model.tenant_id) == tenant_id,  # type: ignore[attr-defined]
        col(model.state).in_(states),  # type: ignore[attr-defined]
        col(model.id).in_(covering),  # type: ignore[attr-defined]
    ).order_by(col(model.created_at), col(model.id))  # type: ignore[attr-defined]
    return list((await session.exec(statement)).all())


async def point_ids_of(session: AsyncSession, link: type[SQLModel], owner_column: str,
                       owner_id: str) -> list[str]:
    """The ids of the points ``owner_id`` (a consent, a mandate) covers through ``link``."""
    owner = getattr(link, owner_column)
    statement = select(link.point_id).where(owner == owner_id)  # type: ignore[attr-defined]
    return list((await session.exec(statement)).all())

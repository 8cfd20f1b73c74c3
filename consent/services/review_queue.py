"""Read-only views for operator staff: the review queue (R14, R19) and what support may see of
a household (its consents and mandates, never its meter data). Every query is tenant-scoped
(R24)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.identifiers import PointRef, Source
from consent.lifecycle import ConsentState, MandateState
from consent.models import (
    Community,
    Consent,
    ConsentPoint,
    Mandate,
    MandatePoint,
    MeteringPoint,
    Party,
    PartyKind,
)
from consent.services.queries import get_row


@dataclass(frozen=True, slots=True)
class WithPoints:
    """A consent or a mandate with the references of its points; for a community consent
    (R4), the name of its community, so that staff read which community it feeds."""

    row: Consent | Mandate
    points: list[PointRef]
    community_name: str | None = None


async def _points(session: AsyncSession, link: type[ConsentPoint] | type[MandatePoint],
                  owner: str) -> list[PointRef]:
    column = link.consent_id if link is ConsentPoint else link.mandate_id  # type: ignore[union-attr]
    rows = (await session.exec(select(MeteringPoint.source, MeteringPoint.identifier).join(
        link, col(link.point_id) == col(MeteringPoint.id)).where(column == owner))).all()
    return sorted(PointRef(Source(s), i) for s, i in rows)


async def _consent(session: AsyncSession, consent: Consent) -> WithPoints:
    """A consent with its points and, if it is a community consent, its community's name."""
    name = None
    if consent.community_id is not None:
        name = (await session.exec(select(Community.name).where(
            Community.id == consent.community_id,
            Community.tenant_id == consent.tenant_id))).first()
    return WithPoints(consent, await _points(session, ConsentPoint, consent.id), name)


async def review_queue(session: AsyncSession, tenant_id: str) -> list[WithPoints]:
    """Mandates and consents waiting for a reviewer, oldest first."""
    mandates = (await session.exec(select(Mandate).where(
        Mandate.tenant_id == tenant_id, Mandate.state == MandateState.PENDING_REVIEW))).all()
    consents = (await session.exec(select(Consent).where(
        Consent.tenant_id == tenant_id, Consent.state == ConsentState.PENDING_REVIEW))).all()
    items = [WithPoints(m, await _points(session, MandatePoint, m.id)) for m in mandates]
    items += [await _consent(session, c) for c in consents]
    return sorted(items, key=lambda i: (i.row.updated_at, i.row.id))


async def household_overview(session: AsyncSession, tenant_id: str,
                             household_id: str) -> tuple[Party, list[WithPoints],
                                                         list[WithPoints]]:
    """A household, its consents and the mandates it gave, newest first."""
    party = await get_row(session, Party, tenant_id, household_id, "household")
    if party.kind != PartyKind.HOUSEHOLD:
        await get_row(session, Party, tenant_id, "", "household")  # the same NotFound
    consents = (await session.exec(select(Consent).where(
        Consent.tenant_id == tenant_id, Consent.grantor_id == party.id).order_by(
        col(Consent.created_at).desc()))).all()
    mandates = (await session.exec(select(Mandate).where(
        Mandate.tenant_id == tenant_id, Mandate.mandator_id == party.id).order_by(
        col(Mandate.created_at).desc()))).all()
    return (party,
            [await _consent(session, c) for c in consents],
            [WithPoints(m, await _points(session, MandatePoint, m.id)) for m in mandates])

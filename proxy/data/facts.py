"""What the checks decide on, read from the database for one (recipient, point) at one instant.

:class:`FactsLoader` turns the domain tables (consent, its points, the household's occupancy of
the point, the upstream authorisation, the recipient's supplier flag) into the frozen
:mod:`consent.access` snapshots. It decides nothing: a missing row becomes a ``None`` that the
policy denies on.

With a consent-bound token the consent is the token's; with a client-credentials token (Data
Connect v5 style: one app-wide token) it is the recipient's consent that covers the point and is
in force now, else its latest one on the point (so a denial can say "revoked" or "expired").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from consent.access import ConsentGrant, PointFacts
from consent.identifiers import PointRef, Source
from consent.lifecycle import ConsentState
from consent.models import (
    DEFAULT_TIMEZONES,
    Consent,
    ConsentPoint,
    Mandate,
    MeteringPoint,
    Occupancy,
    Recipient,
    UpstreamAuthorisation,
)
from consent.models.base import DEFAULT_TENANT
from consent.periods import Period
from consent.storage import Database
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset

_ENDED_BY_SOMEONE = {ConsentState.REVOKED, ConsentState.WITHDRAWN}


@dataclass(frozen=True, slots=True)
class AccessFacts:
    """The snapshots of one decision, plus the point's local time zone and its row id."""

    point: PointRef
    timezone: ZoneInfo
    point_id: str | None
    consent: ConsentGrant | None
    facts: PointFacts | None
    tenant: str = DEFAULT_TENANT


def consent_grant(consent: Consent, points: frozenset[PointRef], at: datetime,
                  *, supplier: bool) -> ConsentGrant:
    """The check-side snapshot of a consent row (R6, R12)."""
    datasets = frozenset(Dataset(d) for d in consent.datasets)
    cap = consent.max_resolution
    finest = {d: cap for d in datasets if d.spec.is_series}
    state = ConsentState(consent.state)
    return ConsentGrant(
        consent_id=consent.id,
        recipient_id=consent.recipient_id,
        active=state is ConsentState.ACTIVE,
        access=consent.access_period,
        points=points,
        datasets=datasets,
        data_window=Period(consent.earliest_data(at)),
        revoked_at=consent.ended_at if state in _ENDED_BY_SOMEONE else None,
        finest=finest,
        recipient_is_supplier=supplier,
    )


class FactsLoader:
    """Reads :class:`AccessFacts`; one short read-only session per call."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, *, recipient_id: str, consent_id: str | None, point: PointRef,
                   at: datetime, tenant: str = DEFAULT_TENANT) -> AccessFacts:
        """The facts for ``recipient_id`` reading ``point`` at ``at``."""
        async with self.db.session() as session:
            row = (await session.exec(select(MeteringPoint).where(
                MeteringPoint.tenant_id == tenant, MeteringPoint.source == point.source,
                MeteringPoint.identifier == point.identifier))).first()
            if row is None:
                return AccessFacts(point, _default_zone(point), None, None, None, tenant)
            zone = ZoneInfo(row.timezone)
            query = (select(Consent).join(ConsentPoint, col(ConsentPoint.consent_id) == Consent.id)
                     .where(Consent.tenant_id == tenant, Consent.recipient_id == recipient_id,
                            ConsentPoint.point_id == row.id))
            if consent_id is not None:
                query = query.where(Consent.id == consent_id)
            consents = (await session.exec(query)).all()
            consent = _pick(consents, at)
            if consent is None:
                return AccessFacts(point, zone, row.id, None, None, tenant)
            refs = (await session.exec(
                select(MeteringPoint.source, MeteringPoint.identifier)
                .join(ConsentPoint, col(ConsentPoint.point_id) == MeteringPoint.id)
                .where(ConsentPoint.consent_id == consent.id))).all()
            supplier = (await session.exec(select(Recipient.is_supplier).where(
                Recipient.id == consent.recipient_id))).first()
            household = consent.grantor_id
            if consent.mandate_id is not None:
                mandator = (await session.exec(select(Mandate.mandator_id).where(
                    Mandate.id == consent.mandate_id))).first()
                household = mandator or household
            occupancy = (await session.exec(select(Occupancy).where(
                Occupancy.point_id == row.id, Occupancy.household_id == household))).all()
            upstream = (await session.exec(select(UpstreamAuthorisation).where(
                UpstreamAuthorisation.point_id == row.id,
                UpstreamAuthorisation.state == UpstreamState.ACTIVE))).all()
        grant = consent_grant(consent, frozenset(PointRef(Source(s), i) for s, i in refs), at,
                              supplier=bool(supplier))
        facts = PointFacts(
            occupancy=tuple(o.period for o in occupancy),
            upstream=_pick_upstream(upstream, at),
        )
        return AccessFacts(point, zone, row.id, grant, facts, tenant)

    async def consents(self, *, recipient_id: str, consent_id: str | None, at: datetime,
                       tenant: str = DEFAULT_TENANT) -> list[tuple[Consent, list[PointRef]]]:
        """The token's consent, or (app-wide token) the recipient's consents in force at ``at``,
        each with its points."""
        query = select(Consent).where(Consent.tenant_id == tenant,
                                      Consent.recipient_id == recipient_id)
        if consent_id is not None:
            query = query.where(Consent.id == consent_id)
        else:
            query = query.where(Consent.state == ConsentState.ACTIVE,
                                Consent.valid_from <= at, Consent.valid_until > at)
        async with self.db.session() as session:
            consents = (await session.exec(query.order_by(col(Consent.valid_from)))).all()
            out = []
            for consent in consents:
                refs = (await session.exec(
                    select(MeteringPoint.source, MeteringPoint.identifier)
                    .join(ConsentPoint, col(ConsentPoint.point_id) == MeteringPoint.id)
                    .where(ConsentPoint.consent_id == consent.id))).all()
                out.append((consent, sorted(PointRef(Source(s), i) for s, i in refs)))
        return out

    async def needed_points(self, at: datetime) -> set[tuple[str, PointRef]]:
        """(tenant, point) of every point an active consent covers now (the cache keeps these)."""
        query = (select(MeteringPoint.tenant_id, MeteringPoint.source, MeteringPoint.identifier)
                 .join(ConsentPoint, col(ConsentPoint.point_id) == MeteringPoint.id)
                 .join(Consent, col(Consent.id) == ConsentPoint.consent_id)
                 .where(Consent.state == ConsentState.ACTIVE, Consent.valid_until > at)
                 .distinct())
        async with self.db.session() as session:
            rows = (await session.exec(query)).all()
        return {(tenant, PointRef(Source(source), ident)) for tenant, source, ident in rows}


def _pick(consents: Sequence[Consent], at: datetime) -> Consent | None:
    """The consent in force at ``at``, else the latest one (to explain the denial)."""
    if not consents:
        return None
    in_force = [c for c in consents
                if c.state == ConsentState.ACTIVE and c.access_period.contains(at)]
    pool = in_force or list(consents)
    return max(pool, key=lambda c: (c.updated_at, c.valid_from))


def _pick_upstream(rows: Sequence[UpstreamAuthorisation], at: datetime) -> Period | None:
    usable = [Period(r.valid_from, r.valid_until) for r in rows]
    if not usable:
        return None
    current = [p for p in usable if p.contains(at)]
    return max(current or usable, key=lambda p: p.start)


def _default_zone(point: PointRef) -> ZoneInfo:
    return ZoneInfo(DEFAULT_TIMEZONES[point.source])

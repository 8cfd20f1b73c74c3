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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
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
from consent.vocabulary import Dataset
from proxy.data.rule_facts import (
    around,
    mandate_grant,
    pick_upstream,
    point_ref_column,
    supply_contract,
)

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


def _table(model: object) -> sa.Table:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


_POINT, _CONSENT, _CONSENT_POINT = _table(MeteringPoint), _table(Consent), _table(ConsentPoint)
_OCCUPANCY, _UPSTREAM, _RECIPIENT = _table(Occupancy), _table(UpstreamAuthorisation), \
    _table(Recipient)
_MANDATE = _table(Mandate)


class FactsLoader:
    """Reads :class:`AccessFacts` on the hot path: two Core queries on one connection.

    Nothing that can change is cached; the only memory is each point's row id and time zone,
    which never change once registered (a point not found is not remembered).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._points: dict[tuple[str, PointRef], tuple[str, ZoneInfo]] = {}

    async def load(self, *, recipient_id: str, consent_id: str | None, point: PointRef,
                   at: datetime, tenant: str = DEFAULT_TENANT,
                   dataset: Dataset | None = None) -> AccessFacts:
        """The facts for ``recipient_id`` reading ``point`` (``dataset``) at ``at``.

        Without a consent on the point, an app-wide token may read under a mandate naming the
        recipient's organisation (:func:`~proxy.data.rule_facts.mandate_grant`); a supplier's
        supply contract on the point is loaded for R13.
        """
        async with self.db.engine.connect() as conn:
            known = self._points.get((tenant, point))
            if known is None:
                row = (await conn.execute(sa.select(_POINT.c.id, _POINT.c.timezone).where(
                    _POINT.c.tenant_id == tenant, _POINT.c.source == point.source,
                    _POINT.c.identifier == point.identifier))).first()
                if row is None:
                    return AccessFacts(point, _default_zone(point), None, None, None, tenant)
                known = self._points[(tenant, point)] = (row.id, ZoneInfo(row.timezone))
            point_id, zone = known
            query = (sa.select(_CONSENT, _RECIPIENT.c.is_supplier)
                     .join(_CONSENT_POINT, _CONSENT_POINT.c.consent_id == _CONSENT.c.id)
                     .join(_RECIPIENT, _RECIPIENT.c.id == _CONSENT.c.recipient_id)
                     .where(_CONSENT.c.tenant_id == tenant,
                            _CONSENT.c.recipient_id == recipient_id,
                            _CONSENT_POINT.c.point_id == point_id))
            if consent_id is not None:
                query = query.where(_CONSENT.c.id == consent_id)
            rows = (await conn.execute(query)).all()
            picked = _pick(rows, at)
            if picked is None:
                under_mandate = None if consent_id is not None else await mandate_grant(
                    conn, tenant=tenant, recipient_id=recipient_id, point_id=point_id,
                    dataset=dataset, at=at)
                if under_mandate is None:
                    return AccessFacts(point, zone, point_id, None, None, tenant)
                grant, facts = under_mandate
                return AccessFacts(point, zone, point_id, grant,
                                   await self._with_contract(conn, grant, facts, tenant,
                                                             point_id, at), tenant)
            household = picked.grantor_id
            if picked.mandate_id is not None:
                household = (await conn.execute(sa.select(_MANDATE.c.mandator_id).where(
                    _MANDATE.c.id == picked.mandate_id))).scalar() or household
            rest = (await conn.execute(around(point_id, household,
                                              _consent_points(picked.id)))).all()
            occupancy = tuple(Period(r.start, r.end) for r in rest if r.kind == "o")
            upstream = [Period(r.start, r.end) for r in rest if r.kind == "u"]
            refs = frozenset(PointRef.parse(r.ref) for r in rest if r.kind == "p")
            grant = consent_grant(_as_consent(picked), refs, at,
                                  supplier=bool(picked.is_supplier))
            facts = PointFacts(occupancy=occupancy, upstream=pick_upstream(upstream, at))
            facts = await self._with_contract(conn, grant, facts, tenant, point_id, at)
        return AccessFacts(point, zone, point_id, grant, facts, tenant)

    @staticmethod
    async def _with_contract(conn: AsyncConnection, grant: ConsentGrant, facts: PointFacts,
                             tenant: str, point_id: str, at: datetime) -> PointFacts:
        """``facts`` with the supplier's contract on the point, for a supplier (R13)."""
        if not grant.recipient_is_supplier:
            return facts
        contract = await supply_contract(conn, tenant=tenant, point_id=point_id,
                                         supplier_id=grant.recipient_id, at=at)
        return replace(facts, supplier_contract=contract)

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


def _consent_points(consent_id: str) -> sa.Select[Any]:
    """The consent's points (p), for :func:`~proxy.data.rule_facts.around`."""
    return (sa.select(sa.literal("p"), _CONSENT.c.valid_from, _CONSENT.c.valid_until,
                      point_ref_column())
            .select_from(_CONSENT_POINT.join(_POINT, _POINT.c.id == _CONSENT_POINT.c.point_id)
                         .join(_CONSENT, _CONSENT.c.id == _CONSENT_POINT.c.consent_id))
            .where(_CONSENT_POINT.c.consent_id == consent_id))


def _as_consent(row: sa.Row[Any]) -> Consent:
    return Consent.model_construct(**{c.name: row._mapping[c] for c in _CONSENT.columns})


def _pick(rows: Sequence[sa.Row[Any]], at: datetime) -> sa.Row[Any] | None:
    """The consent in force at ``at``, else the latest one (to explain the denial)."""
    if not rows:
        return None
    in_force = [r for r in rows if r.state == ConsentState.ACTIVE
                and Period(r.valid_from, r.valid_until).contains(at)]
    pool = in_force or list(rows)
    return max(pool, key=lambda r: (r.updated_at, r.valid_from))


def _default_zone(point: PointRef) -> ZoneInfo:
    return ZoneInfo(DEFAULT_TIMEZONES[point.source])

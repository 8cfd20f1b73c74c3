"""What the checks decide on, read from the database for one (recipient, point) at one instant.

:class:`FactsLoader` turns the domain tables (consent, its points, the household's occupancy of
the point, the upstream authorisation, the recipient's supplier flag) into the frozen
:mod:`consent.access` snapshots. It decides nothing: a missing row becomes a ``None`` that the
policy denies on.

With a consent-bound token the consent is the token's; with a client-credentials token (Data
Connect v5 style: one app-wide token) it is the recipient's consent that covers the point and is
in force now, one covering the dataset asked for if any (an app may hold several), else a
mandate in force, else its latest consent on the point (so a denial can say "revoked" or
"expired").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select

from consent.access import ConsentGrant, PointFacts
from consent.identifiers import PointRef, Source
from consent.invalidation import FACTS, InvalidationBus, LocalBus
from consent.lifecycle import ConsentState
from consent.models import DEFAULT_TIMEZONES, Consent, ConsentPoint, MeteringPoint, Occupancy
from consent.models.base import DEFAULT_TENANT
from consent.periods import span_at
from consent.snapshots import SnapshotCache
from consent.storage import Database
from consent.vocabulary import DATASET_NAMES, Dataset, Energy, history_floor
from proxy.data.consent_rows import (
    CONSENT_ON_POINT,
    CONSENTS_ON_POINT,
    POINT_BY_REF,
    Around,
    as_consent,
    consent_grant,
    in_force,
    pick_consent,
    read_around,
)
from proxy.data.rule_facts import mandate_grant, supply_contract


@dataclass(frozen=True, slots=True)
class AccessFacts:
    """The snapshots of one decision, plus the point's local time zone, its row id and the
    local hour its metering day starts (:attr:`~consent.vocabulary.Energy.day_start`)."""

    point: PointRef
    timezone: ZoneInfo
    point_id: str | None
    consent: ConsentGrant | None
    facts: PointFacts | None
    tenant: str = DEFAULT_TENANT
    day_start: int = 0


@dataclass(frozen=True, slots=True)
class _Candidates:
    """The consents of one (tenant, recipient, consent, point): nothing decided at an instant.
    ``consents`` holds each row as a :class:`Consent`, built once."""

    point_id: str
    zone: ZoneInfo
    day_start: int
    rows: tuple[sa.Row[Any], ...]
    consents: dict[str, Consent]


_Key = tuple[str, str, str | None, PointRef]


class FactsLoader:
    """Reads :class:`AccessFacts` on the hot path with prepared Core statements.

    The consent path is remembered in two :class:`~consent.snapshots.SnapshotCache` (``bus``
    given): the candidate consents of a (recipient, point), and what a consent's decision also
    needs. Every committed write to the tables they come from drops them (here before the
    writing request returns, on other replicas within a second); ``ttl`` bounds their age
    anyway. What depends on the instant (which consent is in force, its data window, the
    upstream authorisation in force) is decided on every request from those rows. Reads under
    a mandate and suppliers' contracts (R10, R11, R13) are read on every request. Each point's
    row id and time zone never change once registered and are kept for good (a point not found
    is not remembered).
    """

    def __init__(self, db: Database, bus: InvalidationBus | None = None, *,
                 ttl: float = 0.0) -> None:
        self.db = db
        self._points: dict[tuple[str, PointRef], tuple[str, ZoneInfo, int]] = {}
        # Rows become Consent objects without a session (model_construct); that needs the
        # mappers configured, which the first ORM query would do and the hot path never runs.
        sa.orm.configure_mappers()
        if bus is None:  # nobody would tell us of a change: remember nothing
            bus, ttl = LocalBus(), 0.0
        self.cache: SnapshotCache[_Key, _Candidates] = SnapshotCache(bus, {FACTS}, ttl=ttl)
        self.around: SnapshotCache[tuple[str, str], Around] = SnapshotCache(bus, {FACTS},
                                                                             ttl=ttl)

    async def close(self) -> None:
        """Let the caches' reads in flight end (before the database is disposed of)."""
        await self.cache.close()
        await self.around.close()

    @property
    def ttl(self) -> float:
        """How long the consent path's caches remember (seconds; ``<= 0``: nothing)."""
        return self.cache.ttl

    def generation(self) -> tuple[int, int] | None:
        """Changes whenever a write the facts depend on is heard of (here or, through the
        bus, on another replica): equal before and after a wait, nothing they depend on was
        written meanwhile, as far as this process can know. ``None`` when nothing can be
        known that way: the bus unhealthy, or the caches off (every read sees the database,
        writes no bus carries included)."""
        if self.cache.ttl <= 0 or not self.cache.bus.healthy:
            return None
        return self.cache.generation(), self.around.generation()

    @staticmethod
    def cached_only(facts: AccessFacts) -> bool:
        """True if every fact of ``facts`` comes through the caches: a consent's. A mandate
        and a supplier's contract are read from the database on every request (this class's
        docstring), so no cache generation vouches for them."""
        grant = facts.consent
        return grant is not None and grant.mandate_id is None \
            and not grant.recipient_is_supplier

    async def load(self, *, recipient_id: str, consent_id: str | None, point: PointRef,
                   at: datetime, tenant: str = DEFAULT_TENANT,
                   dataset: Dataset | None = None) -> AccessFacts:
        """The facts for ``recipient_id`` reading ``point`` (``dataset``) at ``at``.

        Without a consent in force on the point, an app-wide token may read under a mandate
        naming the recipient's organisation (:func:`~proxy.data.rule_facts.mandate_grant`); a
        supplier's supply contract on the point is loaded for R13.
        """
        key = (tenant, recipient_id, consent_id, point)
        found = await self.cache.fetch(key, lambda: self._candidates(key, at))
        if found is None:
            return AccessFacts(point, _default_zone(point), None, None, None, tenant)
        point_id, zone = found.point_id, found.zone
        picked = pick_consent(found.rows, at, dataset)
        if picked is None and consent_id is not None:
            return AccessFacts(point, zone, point_id, None, None, tenant, found.day_start)
        if consent_id is None and (picked is None or not in_force(picked, at)):
            # No consent in force: a mandate may still cover the read (R10, R11); a consent
            # withdrawn or expired since does not take that away. Of a consent and a mandate
            # both ended, the consent explains the denial.
            mandated = await self._under_mandate(found, recipient_id, point, dataset, at,
                                                 tenant)
            if mandated is not None and mandated.consent is not None and (
                    picked is None or _holds(mandated.consent, at)):
                return mandated
            if picked is None:
                return AccessFacts(point, zone, point_id, None, None, tenant,
                                   found.day_start)
        assert picked is not None
        return await self._of_consent(found, picked, point, at, tenant)

    async def alternatives(self, *, recipient_id: str, point: PointRef, at: datetime,
                           dataset: Dataset, besides: str,
                           tenant: str = DEFAULT_TENANT) -> list[AccessFacts]:
        """For an app-wide token: the facts under each *other* consent in force at ``at`` that
        covers ``dataset``, most recently changed first, then under a mandate naming the
        recipient's organisation, if one is in force. A household may give one app several
        consents on a point (a later one capped at daily values, an earlier one releasing the
        curve), or one narrower than a standing mandate (R11): a request the one :meth:`load`
        picked denies may be allowed by another."""
        key = (tenant, recipient_id, None, point)
        found = await self.cache.fetch(key, lambda: self._candidates(key, at))
        if found is None:
            return []
        rows = sorted((r for r in found.rows if r.id != besides and in_force(r, at)
                       and dataset.value in r.datasets),
                      key=lambda r: (r.updated_at, r.valid_from), reverse=True)
        out = [await self._of_consent(found, row, point, at, tenant) for row in rows]
        mandated = await self._under_mandate(found, recipient_id, point, dataset, at, tenant)
        if mandated is not None and mandated.consent is not None \
                and _holds(mandated.consent, at):
            out.append(mandated)
        return out

    async def _under_mandate(self, found: _Candidates, recipient_id: str, point: PointRef,
                             dataset: Dataset | None, at: datetime,
                             tenant: str) -> AccessFacts | None:
        """The facts of a read under a mandate naming the recipient's organisation (R10,
        R11; read from the database every time), or ``None``."""
        async with self.db.reader.connect() as conn:
            under_mandate = await mandate_grant(
                conn, tenant=tenant, recipient_id=recipient_id, point_id=found.point_id,
                dataset=dataset, at=at)
            if under_mandate is None:
                return None
            grant, facts = under_mandate
            return AccessFacts(point, found.zone, found.point_id, grant,
                               await self._with_contract(conn, grant, facts, tenant,
                                                         found.point_id, at), tenant,
                               found.day_start)

    async def _of_consent(self, found: _Candidates, picked: sa.Row[Any], point: PointRef,
                          at: datetime, tenant: str) -> AccessFacts:
        """The facts of a decision under the consent ``picked`` (one of ``found``)."""
        point_id = found.point_id
        surroundings = await self.around.fetch((point_id, picked.id),
                                               lambda: self._around(point_id, picked))
        assert surroundings is not None
        grant = consent_grant(found.consents[picked.id], surroundings.refs, at,
                              supplier=bool(picked.is_supplier))
        facts = PointFacts(occupancy=surroundings.occupancy,
                           upstream=span_at(list(surroundings.upstream), at))
        if grant.recipient_is_supplier:
            async with self.db.reader.connect() as conn:
                facts = await self._with_contract(conn, grant, facts, tenant, point_id, at)
        return AccessFacts(point, found.zone, point_id, grant, facts, tenant, found.day_start)

    async def _candidates(self, key: _Key, at: datetime) -> _Candidates | None:
        tenant, recipient_id, consent_id, point = key
        around_generation = self.around.generation()
        async with self.db.reader.connect() as conn:
            known = self._points.get((tenant, point))
            if known is None:
                row = (await conn.execute(POINT_BY_REF, {
                    "tenant": tenant, "source": point.source, "identifier": point.identifier,
                })).first()
                if row is None:
                    return None
                known = self._points[(tenant, point)] = (
                    row.id, ZoneInfo(row.timezone), Energy(row.energy).day_start)
            point_id, zone, day_start = known
            params = {"tenant": tenant, "recipient": recipient_id, "point": point_id}
            if consent_id is None:
                rows = (await conn.execute(CONSENTS_ON_POINT, params)).all()
            else:
                rows = (await conn.execute(CONSENT_ON_POINT,
                                           {**params, "consent": consent_id})).all()
            picked = pick_consent(rows, at)
            if picked is not None and self.around.get((point_id, picked.id)) is None:
                # The request will need it next: read it on this connection.
                self.around.put((point_id, picked.id),
                                await read_around(conn, point_id, picked), around_generation)
        return _Candidates(point_id, zone, day_start, tuple(rows),
                           {r.id: as_consent(r) for r in rows})

    async def _around(self, point_id: str, picked: sa.Row[Any]) -> Around:
        async with self.db.reader.connect() as conn:
            return await read_around(conn, point_id, picked)

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
                       tenant: str = DEFAULT_TENANT, after: str = "", limit: int | None = None,
                       ) -> list[tuple[Consent, list[MeteringPoint]]]:
        """The token's consent, or (app-wide token) the recipient's consents in force at ``at``,
        each with its points (by reference): in the order of their ids, those above ``after``,
        at most ``limit`` (``proxy.paging``), in two statements whatever their number."""
        query = select(Consent).where(Consent.tenant_id == tenant,
                                      Consent.recipient_id == recipient_id,
                                      col(Consent.id) > after)
        if consent_id is not None:
            query = query.where(Consent.id == consent_id)
        else:
            query = query.where(Consent.state == ConsentState.ACTIVE,
                                Consent.valid_from <= at, Consent.valid_until > at)
        async with self.db.session() as session:
            consents = (await session.exec(query.order_by(col(Consent.id)).limit(limit))).all()
            points: dict[str, list[MeteringPoint]] = {c.id: [] for c in consents}
            rows = (await session.exec(
                select(ConsentPoint.consent_id, MeteringPoint)
                .join(MeteringPoint, col(ConsentPoint.point_id) == MeteringPoint.id)
                .where(col(ConsentPoint.consent_id).in_(list(points))))).all() if points else []
        for owner, point in rows:
            points[owner].append(point)
        return [(c, sorted(points[c.id], key=lambda p: p.ref)) for c in consents]

    async def needed_data(self, at: datetime) -> dict[tuple[str, PointRef, Dataset], date]:
        """(tenant, point, dataset) of every dataset of a point an active consent covers now,
        each with the first local day the cache keeps (``DayCache.purge``): the granting
        household's first move-in on the point (R8: a former occupant's days are no one's to
        read any more), and three years back at most (R12). Not the consents' own history
        or ``data_from``: the household's own page and a standing mandate read further back
        than a short consent, and their days would be fetched again after every purge."""
        moved_in = (sa.select(sa.func.min(col(Occupancy.starts_at)))
                    .where(col(Occupancy.point_id) == MeteringPoint.id,
                           col(Occupancy.household_id) == Consent.grantor_id)
                    .scalar_subquery())
        query = (sa.select(col(MeteringPoint.tenant_id), col(MeteringPoint.source),
                           col(MeteringPoint.identifier), col(MeteringPoint.timezone),
                           col(Consent.datasets), moved_in)
                 .join(ConsentPoint, col(ConsentPoint.point_id) == MeteringPoint.id)
                 .join(Consent, col(Consent.id) == ConsentPoint.consent_id)
                 .where(col(Consent.state) == ConsentState.ACTIVE, col(Consent.valid_until) > at))
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        needed: dict[tuple[str, PointRef, Dataset], date] = {}
        for tenant, source, ident, zone, datasets, since in rows:
            floor = history_floor(at) if since is None else max(since, history_floor(at))
            first = floor.astimezone(ZoneInfo(zone)).date()
            for name in datasets:
                if name in DATASET_NAMES:
                    key = (tenant, PointRef(Source(source), ident), Dataset(name))
                    needed[key] = min(first, needed.get(key, first))
        return needed


def _holds(grant: ConsentGrant, at: datetime) -> bool:
    """True if ``grant`` is active and in force at ``at``."""
    return grant.active and grant.access.contains(at)


def _default_zone(point: PointRef) -> ZoneInfo:
    return ZoneInfo(DEFAULT_TIMEZONES[point.source])

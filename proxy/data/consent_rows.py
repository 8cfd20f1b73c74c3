"""The consent path of :class:`~proxy.data.facts.FactsLoader`, as Core queries built once:
the recipient's consents on a point (:data:`CONSENTS_ON_POINT`, or the token's one), the one in
force at an instant (:func:`pick_consent`), what its decision also needs (:func:`read_around`:
the household's occupancy of the point, the point's upstream authorisations, the consent's
points), and the check-side snapshot of a consent row (:func:`consent_grant`, R6, R12).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.access import ConsentGrant
from consent.identifiers import PointRef
from consent.lifecycle import ConsentState
from consent.models import (
    Consent,
    ConsentPoint,
    Mandate,
    MeteringPoint,
    Occupancy,
    Recipient,
    UpstreamAuthorisation,
)
from consent.periods import Period
from consent.purposes import ConsentView
from consent.vocabulary import Dataset
from proxy.data.rule_facts import around, point_ref_column

_ENDED_BY_SOMEONE = {ConsentState.REVOKED, ConsentState.WITHDRAWN}


def consent_grant(consent: Consent, points: frozenset[PointRef], at: datetime,
                  *, supplier: bool) -> ConsentGrant:
    """The check-side snapshot of a consent row (R4, R6, R12)."""
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
        history=timedelta(days=consent.history_days),
        revoked_at=consent.ended_at if state in _ENDED_BY_SOMEONE else None,
        finest=finest,
        recipient_is_supplier=supplier,
        view=ConsentView(consent.view),
        community_id=consent.community_id,
    )


def _table(model: object) -> sa.Table:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


_POINT, _CONSENT, _CONSENT_POINT = _table(MeteringPoint), _table(Consent), _table(ConsentPoint)
_OCCUPANCY, _UPSTREAM, _RECIPIENT = _table(Occupancy), _table(UpstreamAuthorisation), \
    _table(Recipient)
_MANDATE = _table(Mandate)


def _consent_points(consent_id: str | sa.BindParameter[str]) -> sa.Select[Any]:
    """The consent's points (p), for :func:`~proxy.data.rule_facts.around`."""
    return (sa.select(sa.literal("p"), _CONSENT.c.valid_from, _CONSENT.c.valid_until,
                      point_ref_column())
            .select_from(_CONSENT_POINT.join(_POINT, _POINT.c.id == _CONSENT_POINT.c.point_id)
                         .join(_CONSENT, _CONSENT.c.id == _CONSENT_POINT.c.consent_id))
            .where(_CONSENT_POINT.c.consent_id == consent_id))


# Built once with bind parameters: SQLAlchemy reuses their compiled form on every call.
POINT_BY_REF = sa.select(_POINT.c.id, _POINT.c.timezone, _POINT.c.energy).where(
    _POINT.c.tenant_id == sa.bindparam("tenant"), _POINT.c.source == sa.bindparam("source"),
    _POINT.c.identifier == sa.bindparam("identifier"))
CONSENTS_ON_POINT = (
    sa.select(_CONSENT, _RECIPIENT.c.is_supplier)
    .join(_CONSENT_POINT, _CONSENT_POINT.c.consent_id == _CONSENT.c.id)
    .join(_RECIPIENT, _RECIPIENT.c.id == _CONSENT.c.recipient_id)
    .where(_CONSENT.c.tenant_id == sa.bindparam("tenant"),
           _CONSENT.c.recipient_id == sa.bindparam("recipient"),
           _CONSENT_POINT.c.point_id == sa.bindparam("point")))
CONSENT_ON_POINT = CONSENTS_ON_POINT.where(_CONSENT.c.id == sa.bindparam("consent"))
_MANDATOR = sa.select(_MANDATE.c.mandator_id).where(_MANDATE.c.id == sa.bindparam("mandate"))
_AROUND = around(sa.bindparam("point"), sa.bindparam("household"),
                 _consent_points(sa.bindparam("consent")))


@dataclass(frozen=True, slots=True)
class Around:
    """What a picked consent's decision also needs: the household's occupancy of the point,
    the point's active upstream authorisations, the consent's points."""

    occupancy: tuple[Period, ...]
    upstream: tuple[Period, ...]
    refs: frozenset[PointRef]


async def read_around(conn: AsyncConnection, point_id: str, picked: sa.Row[Any]) -> Around:
    """What the decision on ``picked`` (a row of :data:`CONSENTS_ON_POINT`) also needs; under
    a mandate, the household is the mandator."""
    household = picked.grantor_id
    if picked.mandate_id is not None:
        household = (await conn.execute(_MANDATOR, {"mandate": picked.mandate_id})
                     ).scalar() or household
    rest = (await conn.execute(_AROUND, {"point": point_id, "household": household,
                                         "consent": picked.id})).all()
    return Around(
        occupancy=tuple(Period(r.start, r.end) for r in rest if r.kind == "o"),
        upstream=tuple(Period(r.start, r.end) for r in rest if r.kind == "u"),
        refs=frozenset(PointRef.parse(r.ref) for r in rest if r.kind == "p"))


def as_consent(row: sa.Row[Any]) -> Consent:
    """The row as a :class:`Consent`, without a session."""
    return Consent.model_construct(**{c.name: row._mapping[c] for c in _CONSENT.columns})


def in_force(row: sa.Row[Any], at: datetime) -> bool:
    """True if the consent row is active and ``at`` lies in its validity (R6)."""
    return (row.state == ConsentState.ACTIVE
            and Period(row.valid_from, row.valid_until).contains(at))


def pick_consent(rows: Sequence[sa.Row[Any]], at: datetime,
                 dataset: Dataset | None = None) -> sa.Row[Any] | None:
    """The consent that decides a request at ``at`` for ``dataset`` (R6): of those in force,
    one that covers ``dataset`` (a household may give one app several consents on a point,
    for different datasets and purposes: each must be usable), else any in force, else the
    latest of all (to explain the denial); the most recently changed first among equals."""
    if not rows:
        return None
    current = [r for r in rows if in_force(r, at)]
    covering = ([r for r in current if dataset.value in r.datasets]
                if dataset is not None else [])
    pool = covering or current or list(rows)
    return max(pool, key=lambda r: (r.updated_at, r.valid_from))

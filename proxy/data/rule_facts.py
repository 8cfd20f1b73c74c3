"""Facts of the market rules on the data path: supply contracts (R13) and reads under a mandate
(R10, R11), read with Core queries on the loader's connection.

- :func:`supply_contract`: the period over which the reading supplier holds the point's supply
  contract, as the upstream reported it (:mod:`consent.services.supply`); only asked for
  suppliers.
- :func:`mandate_grant`: when a recipient has no consent on the point, a mandate whose
  mandatary is the recipient's organisation (or the organisation it belongs to) and whose scope
  includes reading data stands in for it, within the mandate's points, datasets (cut to what the
  recipient registered, R5) and validity. The household is the mandator; its occupancy and the
  upstream authorisation are checked as for a consent (R8). A mandate that no longer holds is
  still returned (the latest one) so that the denial can say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.access import ConsentGrant, PointFacts
from consent.identifiers import PointRef
from consent.lifecycle import MandateState
from consent.models import (
    Mandate,
    MandatePoint,
    MeteringPoint,
    Occupancy,
    Party,
    Recipient,
    SupplyContract,
    UpstreamAuthorisation,
)
from consent.models.mandates import MandateScope
from consent.periods import Period, span_at
from consent.upstream import UpstreamState
from consent.vocabulary import MAX_HISTORY, Dataset, history_floor


def _table(model: object) -> sa.Table:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


_SUPPLY, _MANDATE, _MANDATE_POINT = _table(SupplyContract), _table(Mandate), \
    _table(MandatePoint)
_PARTY, _RECIPIENT, _POINT = _table(Party), _table(Recipient), _table(MeteringPoint)
_OCCUPANCY, _UPSTREAM = _table(Occupancy), _table(UpstreamAuthorisation)
_ENDED_BY_SOMEONE = {MandateState.REVOKED.value, MandateState.WITHDRAWN.value}


async def supply_contract(conn: AsyncConnection, *, tenant: str, point_id: str,
                          supplier_id: str, at: datetime) -> Period | None:
    """The supplier's contracts on the point (R13), joined where one follows on from another,
    around ``at`` (:func:`~consent.periods.span_at`), else ``None``."""
    rows = (await conn.execute(sa.select(_SUPPLY.c.starts_at, _SUPPLY.c.ends_at).where(
        _SUPPLY.c.tenant_id == tenant, _SUPPLY.c.point_id == point_id,
        _SUPPLY.c.supplier_id == supplier_id))).all()
    return span_at([Period(r.starts_at, r.ends_at) for r in rows], at)


async def mandate_grant(conn: AsyncConnection, *, tenant: str, recipient_id: str,
                        point_id: str, dataset: Dataset | None, at: datetime,
                        ) -> tuple[ConsentGrant, PointFacts] | None:
    """The grant and point facts of a read under a mandate, or ``None`` (module docstring)."""
    recipient = (await conn.execute(sa.select(
        _RECIPIENT.c.party_id, _RECIPIENT.c.allowed_datasets, _RECIPIENT.c.is_supplier,
        _PARTY.c.member_of_id).join(_PARTY, _PARTY.c.id == _RECIPIENT.c.party_id).where(
        _RECIPIENT.c.id == recipient_id, _RECIPIENT.c.tenant_id == tenant))).first()
    if recipient is None:
        return None
    acting = [p for p in (recipient.party_id, recipient.member_of_id) if p is not None]
    rows = (await conn.execute(sa.select(_MANDATE).join(
        _MANDATE_POINT, _MANDATE_POINT.c.mandate_id == _MANDATE.c.id).where(
        _MANDATE.c.tenant_id == tenant, _MANDATE.c.mandatary_id.in_(acting),
        _MANDATE_POINT.c.point_id == point_id,
        _MANDATE.c.scope.in_([s.value for s in MandateScope if s.reads_data])))).all()
    picked = _pick(rows, dataset, at)
    if picked is None:
        return None
    rest = (await conn.execute(around(point_id, picked.mandator_id,
                                      _mandate_points(picked.id)))).all()
    refs = frozenset(PointRef.parse(r.ref) for r in rest if r.kind == "p")
    allowed = set(recipient.allowed_datasets)
    datasets = frozenset(Dataset(d) for d in picked.datasets if d in allowed)
    validity = Period(picked.valid_from, picked.valid_until)
    grant = ConsentGrant(
        consent_id="", recipient_id=recipient_id,
        active=picked.state == MandateState.ACTIVE.value, access=validity, points=refs,
        datasets=datasets, data_window=Period(history_floor(at)), history=MAX_HISTORY,
        revoked_at=picked.ended_at if picked.state in _ENDED_BY_SOMEONE else None,
        recipient_is_supplier=bool(recipient.is_supplier), mandate_id=picked.id)
    facts = PointFacts(
        occupancy=tuple(Period(r.start, r.end) for r in rest if r.kind == "o"),
        upstream=span_at([Period(r.start, r.end) for r in rest if r.kind == "u"], at))
    return grant, facts


def _pick(rows: Sequence[sa.Row[Any]], dataset: Dataset | None,
          at: datetime) -> sa.Row[Any] | None:
    """A mandate that lets the read through now, else the latest one (to explain)."""
    if not rows:
        return None
    holding = [r for r in rows if r.state == MandateState.ACTIVE.value
               and Period(r.valid_from, r.valid_until).contains(at)
               and (dataset is None or dataset.value in r.datasets)]
    return max(holding or list(rows), key=lambda r: (r.updated_at, r.valid_from))


def around(point_id: str | sa.BindParameter[Any], household: str | sa.BindParameter[Any],
           points: sa.Select[Any]) -> sa.CompoundSelect[Any]:
    """Occupancy of the household (o), its active upstream authorisations (u) of one point, and
    the grant's points (p, from ``points``: kind, start, end, ref), in one statement (values
    or bind parameters: the facts loader builds it once)."""
    text_null = sa.null().cast(sa.String)
    return sa.union_all(
        sa.select(sa.literal("o").label("kind"), _OCCUPANCY.c.starts_at.label("start"),
                  _OCCUPANCY.c.ends_at.label("end"), text_null.label("ref"))
        .where(_OCCUPANCY.c.point_id == point_id, _OCCUPANCY.c.household_id == household),
        # The household's own authorisations only (a previous occupant's, still active at
        # the DSO, lets nothing through for this one), or one no household gave (an operator's
        # standing agreement with an in-house DSO).
        sa.select(sa.literal("u"), _UPSTREAM.c.valid_from, _UPSTREAM.c.valid_until, text_null)
        .where(_UPSTREAM.c.point_id == point_id, _UPSTREAM.c.state == UpstreamState.ACTIVE,
               sa.or_(_UPSTREAM.c.household_id == household,
                      _UPSTREAM.c.household_id.is_(None))),
        points,
    )


def point_ref_column() -> sa.ColumnElement[str]:
    """``source:identifier`` of a metering point, as text."""
    return sa.type_coerce(_POINT.c.source, sa.String()) + ":" + _POINT.c.identifier


def _mandate_points(mandate_id: str) -> sa.Select[Any]:
    statement = (sa.select(sa.literal("p"), sa.null().cast(sa.DateTime),
                           sa.null().cast(sa.DateTime), point_ref_column())
                 .select_from(_MANDATE_POINT.join(_POINT,
                                                  _POINT.c.id == _MANDATE_POINT.c.point_id))
                 .where(_MANDATE_POINT.c.mandate_id == mandate_id))
    # the same shape as the consent's variant, whose bounds are columns, not typed NULLs
    return cast(sa.Select[Any], statement)

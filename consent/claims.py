"""Claiming a metering point: a household proves it is the point's current client (R8, R9, R15).

The proof itself is checked at the edge, against the DSO (an adapter): either the DSO's own
consent page gave the operator an active authorisation for the point (``upstream``), or, where
the operator is the DSO, the household typed the number printed on its meter and the DSO
confirmed it (``meter_number``). What the DSO said is handed here as :class:`DsoFacts`; this
module decides and records, in one transaction:

* the point is registered if Passerelle did not know it yet, and locked: of claims (and
  moves) of one point at once, each decides on what the previous one wrote, so exactly one
  household becomes the occupant and the others are refused as below;
* if Passerelle already has the household as the point's occupant, nothing changes;
* if another household occupies it in Passerelle *for the same customer period* as the DSO's
  current one, the claim is refused: a meter number read off someone else's meter must not
  take their point over (the operator settles it by hand);
* otherwise the household moves in at the start of the DSO's current customer period (or when
  Passerelle's last occupancy ended, if later: history is not rewritten), which ends the
  previous occupant's consents (R9), and its upstream authorisation is recorded;
* every attempt of an existing household, accepted or refused, is a
  :class:`~consent.models.PointClaim` row: the evidence of how occupancy was proven, and what
  :meth:`ClaimService.recent_refusals` counts to stop meter-number guessing.

:meth:`ClaimService.accept_within` decides and records in the caller's transaction, for a
caller whose other writes stand or fall with the claim (the first OpenID sign-in: a household
created for the claim must not outlive its refusal); such a caller rolls the refusal back with
the rest and, for a household that existed before, records it again
(:meth:`ClaimService.keep_refusal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import Clock
from consent.identifiers import PointRef
from consent.lifecycle import ActorRole
from consent.models import (
    Channel,
    ClaimMethod,
    ClaimOutcome,
    MeteringPoint,
    Occupancy,
    PointClaim,
    UpstreamAuthorisation,
)
from consent.services.base import Actor
from consent.services.occupancy import OccupancyService
from consent.services.point_lock import lock_new_point, lock_point
from consent.services.queries import occupancy_at
from consent.services.registry import add_upstream_authorisation, new_point
from consent.storage import Database
from consent.upstream import UpstreamState
from consent.vocabulary import Direction, Energy

#: Two dates of one customer period may differ by this much between the DSO and Passerelle
#: (local midnight versus UTC, a move-in keyed a day late).
SAME_PERIOD_TOLERANCE = timedelta(days=2)

#: The reason recorded for a claim the DSO could not check (it did not answer): not a guess.
DSO_UNAVAILABLE = "dso unavailable"


@dataclass(frozen=True, slots=True)
class DsoFacts:
    """What the DSO said about the point when the proof was checked.

    ``customer_since`` starts the current customer's period; ``customer`` is the DSO's opaque
    reference of it; ``upstream_*`` describe the operator's (active) authorisation at the DSO.
    """

    energy: Energy
    directions: tuple[Direction, ...]
    timezone: str
    customer_since: datetime
    customer: str | None = None
    upstream_id: str | None = None
    upstream_valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """The recorded claim; ``point`` is ``None`` only for a refusal of an unknown point."""

    claim: PointClaim
    point: MeteringPoint | None

    @property
    def accepted(self) -> bool:
        """True if the household now occupies the point."""
        return ClaimOutcome(self.claim.outcome) is ClaimOutcome.ACCEPTED


@dataclass(frozen=True, slots=True)
class Claimant:
    """Who claims: the household, the account that acts, the tenant."""

    household_id: str
    account_id: str
    tenant_id: str


class ClaimService:
    """Decides and records claims; see the module docstring."""

    def __init__(self, db: Database, clock: Clock, occupancy: OccupancyService) -> None:
        self.db = db
        self.clock = clock
        self.occupancy = occupancy

    async def accept(self, who: Claimant, ref: PointRef, method: ClaimMethod, facts: DsoFacts,
                     details: Mapping[str, Any] | None = None) -> ClaimResult:
        """Record a claim whose proof the DSO confirmed (it may still be refused, see above)."""
        async with self.db.session() as session:
            return await self.accept_within(session, who, ref, method, facts, details)

    async def accept_within(self, session: AsyncSession, who: Claimant, ref: PointRef,
                            method: ClaimMethod, facts: DsoFacts,
                            details: Mapping[str, Any] | None = None) -> ClaimResult:
        """:meth:`accept` inside the caller's transaction, which holds the point's lock from
        here to its end: the first OpenID sign-in creates the household, links the identity
        and claims in one transaction, all or nothing (proxy/portal/oidc_link.py). Nothing
        here waits on the DSO: its answer (``facts``) was gathered before."""
        now = self.clock.now()
        point = await _point(session, who.tenant_id, ref, facts, now)
        current = await occupancy_at(session, point.id, now)
        record = dict(details or {})
        record["customer_since"] = facts.customer_since.isoformat()
        if current is not None and current.household_id == who.household_id:
            return _result(session, who, ref, point, method, ClaimOutcome.ACCEPTED,
                           "already_occupied_by_you", facts, record, now)
        if current is not None and (
                current.starts_at >= facts.customer_since - SAME_PERIOD_TOLERANCE):
            return _result(session, who, ref, point, method, ClaimOutcome.REFUSED,
                           "occupied_by_another_household", facts, record, now)
        at = await _move_in_instant(session, point.id, facts.customer_since)
        actor = Actor(ActorRole.UPSTREAM, channel=Channel.WEB, tenant_id=who.tenant_id)
        moved = await self.occupancy.move_in_within(session, actor, point.id,
                                                    who.household_id, at)
        record["move_in"] = at.isoformat()
        record["ended_previous_occupancy"] = moved.previous is not None
        await _upstream(session, who, point, facts, at, now)
        return _result(session, who, ref, point, method, ClaimOutcome.ACCEPTED, "",
                       facts, record, now)

    async def keep_refusal(self, refused: Mapping[str, Any]) -> PointClaim:
        """Record again, in a transaction of its own, the refused claim ``refused`` (a
        :class:`PointClaim`'s fields) whose transaction rolled back, so that the attempt of an
        existing household stays evidence; a household created for the attempt rolled back
        with it has nothing left to hang a refusal on."""
        async with self.db.session() as session:
            claim = PointClaim(**refused)
            session.add(claim)
            return claim

    async def refuse(self, who: Claimant, point: str, method: ClaimMethod, reason: str,
                     details: Mapping[str, Any] | None = None) -> ClaimResult:
        """Record a claim the DSO did not confirm (wrong meter number, no authorisation...)."""
        now = self.clock.now()
        async with self.db.session() as session:
            claim = PointClaim(tenant_id=who.tenant_id, household_id=who.household_id,
                               account_id=who.account_id, point=point[:64], method=method,
                               outcome=ClaimOutcome.REFUSED, reason=reason[:200],
                               details=dict(details or {}), created_at=now)
            session.add(claim)
            return ClaimResult(claim, None)

    async def recent_refusals(self, account_id: str, within: timedelta) -> int:
        """How many claims of ``account_id`` were refused in the last ``within``: the guesses
        the claim throttle counts. A refusal for :data:`DSO_UNAVAILABLE` is recorded (the
        household sees the attempt) but is no guess: the person's proof was never checked."""
        since = self.clock.now() - within
        async with self.db.session() as session:
            result = await session.exec(select(func.count()).select_from(PointClaim).where(
                PointClaim.account_id == account_id,
                PointClaim.outcome == ClaimOutcome.REFUSED,
                PointClaim.reason != DSO_UNAVAILABLE,
                col(PointClaim.created_at) > since))
            return int(result.one())

    async def claims_of(self, tenant_id: str, household_id: str) -> list[PointClaim]:
        """Every claim of a household, newest first (shown on its page, and in its evidence)."""
        async with self.db.session() as session:
            result = await session.exec(select(PointClaim).where(
                PointClaim.tenant_id == tenant_id, PointClaim.household_id == household_id,
            ).order_by(col(PointClaim.created_at).desc()))
            return list(result.all())


async def _point(session: AsyncSession, tenant_id: str, ref: PointRef, facts: DsoFacts,
                 now: datetime) -> MeteringPoint:
    """The point, registered if Passerelle did not know it, and locked: claims and moves of
    one point at once decide one after the other on current occupancies
    (:mod:`consent.services.point_lock`)."""
    found = (await session.exec(select(MeteringPoint).where(
        MeteringPoint.tenant_id == tenant_id, MeteringPoint.source == ref.source,
        MeteringPoint.identifier == ref.identifier))).first()
    if found is not None:
        await lock_point(session, found.id)
        return found
    return await lock_new_point(session, new_point(
        tenant_id=tenant_id, ref=ref, energy=facts.energy, directions=facts.directions,
        now=now, timezone=facts.timezone))


async def _move_in_instant(session: AsyncSession, point_id: str,
                           customer_since: datetime) -> datetime:
    """The DSO's start of the customer period, or the end of Passerelle's last occupancy of the
    point if that is later (an earlier occupancy is never shortened retroactively)."""
    ends = (await session.exec(select(Occupancy.ends_at).where(
        Occupancy.point_id == point_id, col(Occupancy.ends_at).is_not(None)))).all()
    latest = max((e for e in ends if e is not None), default=None)
    return max(customer_since, latest) if latest is not None else customer_since


async def _upstream(session: AsyncSession, who: Claimant, point: MeteringPoint,
                    facts: DsoFacts, at: datetime, now: datetime) -> None:
    """Record the operator's authorisation at the DSO for this household, if not there yet."""
    live = (await session.exec(select(UpstreamAuthorisation).where(
        UpstreamAuthorisation.point_id == point.id,
        UpstreamAuthorisation.household_id == who.household_id,
        UpstreamAuthorisation.state == UpstreamState.ACTIVE))).first()
    if live is not None:
        return
    await add_upstream_authorisation(
        session, tenant_id=who.tenant_id, point=point,
        upstream_id=facts.upstream_id or f"claim-{point.identifier}", valid_from=at,
        valid_until=facts.upstream_valid_until, state=UpstreamState.ACTIVE, now=now,
        household_id=who.household_id)


def _result(session: AsyncSession, who: Claimant, ref: PointRef, point: MeteringPoint,
            method: ClaimMethod, outcome: ClaimOutcome, reason: str, facts: DsoFacts,
            details: dict[str, Any], now: datetime) -> ClaimResult:
    claim = PointClaim(tenant_id=who.tenant_id, household_id=who.household_id,
                       account_id=who.account_id, point=str(ref), point_id=point.id,
                       method=method, outcome=outcome, reason=reason,
                       dso_customer=facts.customer, details=details, created_at=now)
    session.add(claim)
    return ClaimResult(claim, point)

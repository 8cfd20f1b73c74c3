"""Changes that come from the ground: a new occupant (R9), an upstream authorisation that
changes state at the DSO. Both stop what depended on the old situation, in one transaction.

- :meth:`OccupancyService.move_out`: the occupancy ends at the move-out instant; everything
  tied to that occupant on the point stops there (R9): its upstream authorisations end, its live
  consents and mandates covering the point are revoked (actor ``system``, the reason recorded,
  ``ended_at`` = the move-out instant even when it is recorded later), its community
  memberships on the point end, and the point's supply contract ends (the supplier's contract
  was with that client, R13). The next occupant starts with nothing shared.
- :meth:`OccupancyService.move_in`: the same for the previous occupant, at the move-in instant,
  then the new occupancy starts there. "Digital features tied to the previous client stop
  automatically" (R9).
- :meth:`OccupancyService.record_upstream_state`: an adapter reports the DSO's state. When the
  authorisation ends (ended, revoked, refused), every live consent on the point is revoked
  (domain.md: "when it ends, every downstream consent on that point stops with it"); when it is
  suspended, active consents are suspended; when it is active again, the consents that
  *upstream* suspended resume (not those an operator suspended).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import Clock
from consent.errors import Conflict, InvalidPeriod, NotFound, NotPermitted
from consent.identifiers import PointRef
from consent.lifecycle import ActorRole, ConsentAction
from consent.models import (
    ConsentEvent,
    MandateEvent,
    MeteringPoint,
    Occupancy,
    Party,
    PartyKind,
    UpstreamAuthorisation,
)
from consent.services.base import Actor, flush_unique
from consent.services.communities import end_memberships
from consent.services.consents import ConsentService
from consent.services.mandates import MandateService
from consent.services.point_lock import lock_point
from consent.services.queries import get_row, points_by_ref
from consent.services.supply import end_supply
from consent.storage import Database
from consent.upstream import UpstreamState

_GROUND_TRUTH_ROLES = {ActorRole.OPERATOR, ActorRole.SYSTEM, ActorRole.UPSTREAM}


@dataclass(frozen=True, slots=True)
class Ended:
    """What ended with an occupant's departure from a point (R9)."""

    upstream: list[str] = field(default_factory=list)
    consents: list[ConsentEvent] = field(default_factory=list)
    mandates: list[MandateEvent] = field(default_factory=list)
    memberships: int = 0
    supply_contracts: int = 0


@dataclass(frozen=True, slots=True)
class MoveIn:
    """What a move-in changed."""

    occupancy: Occupancy
    previous: Occupancy | None
    ended_upstream: list[str] = field(default_factory=list)
    revoked: list[ConsentEvent] = field(default_factory=list)
    revoked_mandates: list[MandateEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MoveOut:
    """What a move-out changed: the ended occupancy and everything tied to it."""

    occupancy: Occupancy
    ended: Ended


class OccupancyService:
    """Move-ins, move-outs and upstream state changes, with their effect on consents and
    mandates."""

    def __init__(self, db: Database, clock: Clock, consents: ConsentService,
                 mandates: MandateService | None = None) -> None:
        self.db = db
        self.clock = clock
        self.consents = consents
        self.mandates = mandates or MandateService(db, clock)

    async def move_in(self, actor: Actor, ref: PointRef, household_id: str,
                      at: datetime) -> MoveIn:
        """Record that ``household_id`` becomes the client of ``ref`` at ``at`` (R8, R9)."""
        _check_role(actor)
        async with self.db.session() as session:
            [point] = await points_by_ref(session, actor.tenant_id, [ref])
            return await self.move_in_within(session, actor, point.id, household_id, at)

    async def move_in_within(self, session: AsyncSession, actor: Actor, point_id: str,
                             household_id: str, at: datetime) -> MoveIn:
        """:meth:`move_in` inside the caller's transaction (a claim records its evidence in
        the same one, see :mod:`consent.claims`)."""
        _check_role(actor)
        now = self.clock.now()
        point = await get_row(session, MeteringPoint, actor.tenant_id, point_id, "point")
        household = await get_row(session, Party, actor.tenant_id, household_id, "party")
        if household.kind != PartyKind.HOUSEHOLD:
            raise NotFound(f"No household with id {household_id!r}.", field="household_id")
        await lock_point(session, point.id)  # the reads below are current (R8)
        later = (await session.exec(select(Occupancy).where(
            Occupancy.point_id == point.id, col(Occupancy.starts_at) >= at))).first()
        if later is not None:
            raise InvalidPeriod("Another occupancy of this point starts at or after this "
                                "move-in; history is not rewritten.", field="at")
        previous = (await session.exec(select(Occupancy).where(
            Occupancy.point_id == point.id, col(Occupancy.starts_at) < at,
            or_(col(Occupancy.ends_at).is_(None), col(Occupancy.ends_at) > at)))).first()
        ended = Ended()
        if previous is not None:
            if previous.household_id == household.id:
                raise Conflict("This household already occupies the point.", field="at")
            ended = await self._end_occupancy(session, actor, previous, at,
                                              "occupant changed (R9)")
        occupancy = Occupancy(tenant_id=actor.tenant_id, point_id=point.id,
                              household_id=household.id, starts_at=at, ends_at=None,
                              created_at=now)
        session.add(occupancy)
        # The lock makes this the only open occupancy; the unique index would refuse a second
        # one from a writer that skipped it (a 409, never a 500).
        await flush_unique(session, Conflict("Another household moved into this point at the "
                                             "same time.", field="at"))
        return MoveIn(occupancy, previous, ended.upstream, ended.consents, ended.mandates)

    async def move_out(self, actor: Actor, ref: PointRef, at: datetime, *,
                       reason: str = "") -> MoveOut:
        """Record that the occupant of ``ref`` leaves at ``at`` (R9); see the module docstring.

        ``at`` may be in the past (the DSO reports a move-out late): whatever ended then is
        recorded as ended then. A point nobody occupies at ``at`` is :class:`NotFound`.
        """
        _check_role(actor)
        async with self.db.session() as session:
            [point] = await points_by_ref(session, actor.tenant_id, [ref])
            if at > self.clock.now():
                raise InvalidPeriod("A move-out is recorded when it happens, not ahead.",
                                    field="at")
            await lock_point(session, point.id)  # the occupancy read below is current
            current = (await session.exec(select(Occupancy).where(
                Occupancy.point_id == point.id, col(Occupancy.starts_at) < at,
                or_(col(Occupancy.ends_at).is_(None), col(Occupancy.ends_at) > at)))).first()
            if current is None:
                raise NotFound(f"Nobody occupies {ref} at {at.isoformat()}.", field="at")
            why = f"occupant moved out (R9){': ' + reason if reason else ''}"
            ended = await self._end_occupancy(session, actor, current, at, why[:500])
            return MoveOut(current, ended)

    async def _end_occupancy(self, session: AsyncSession, actor: Actor, occupancy: Occupancy,
                             at: datetime, reason: str) -> Ended:
        """End ``occupancy`` at ``at`` and everything tied to its household on the point."""
        now = self.clock.now()
        occupancy.ends_at = at
        session.add(occupancy)
        point, household = occupancy.point_id, occupancy.household_id
        system = Actor.system(actor.tenant_id)
        upstream = await self._end_upstream(session, point, household, at, now)
        consents = await self.consents.revoke_on_points(
            session, system, {point}, grantor_id=household, reason=reason, effective_at=at)
        mandates = await self.mandates.revoke_on_points(
            session, system, {point}, mandator_id=household, reason=reason, effective_at=at)
        memberships = await end_memberships(session, point, household, at)
        contracts = await end_supply(session, point, at, now)
        return Ended(upstream, consents, mandates, memberships, contracts)

    async def record_upstream_state(self, actor: Actor, authorisation_id: str,
                                    state: UpstreamState, *,
                                    reason: str = "") -> list[ConsentEvent]:
        """Store the DSO's state of an authorisation and apply its consequences."""
        _check_role(actor)
        now = self.clock.now()
        async with self.db.session() as session:
            authorisation = await get_row(session, UpstreamAuthorisation, actor.tenant_id,
                                          authorisation_id, "upstream authorisation")
            previous = UpstreamState(authorisation.state)
            authorisation.state = state
            authorisation.last_checked_at = now
            authorisation.updated_at = now
            if state.final and authorisation.valid_until is None:
                authorisation.valid_until = now
            session.add(authorisation)
            await session.flush()
            upstream = Actor.upstream(actor.tenant_id)
            points = {authorisation.point_id}
            # Only the consents of the household that gave this authorisation depend on it: the
            # previous occupant's authorisation ending must not stop the new occupant's (R9).
            grantor = authorisation.household_id
            why = reason or f"upstream authorisation {authorisation.upstream_id} is {state}"
            if (state.final or state is UpstreamState.SUSPENDED) and \
                    await _still_covered(session, authorisation, now):
                return []  # e.g. a renewed consent at the DSO already replaced this one
            if state.final:
                return await self.consents.revoke_on_points(session, upstream, points,
                                                            grantor_id=grantor, reason=why)
            if state is UpstreamState.SUSPENDED:
                return await self.consents.act_on_points(session, upstream,
                                                         ConsentAction.SUSPEND, points,
                                                         grantor_id=grantor, reason=why)
            if state is UpstreamState.ACTIVE and previous is UpstreamState.SUSPENDED:
                return await self.consents.act_on_points(
                    session, upstream, ConsentAction.RESUME, points, grantor_id=grantor,
                    reason=why, suspended_by=ActorRole.UPSTREAM)
            return []

    @staticmethod
    async def _end_upstream(session: AsyncSession, point_id: str, household_id: str,
                            at: datetime, now: datetime) -> list[str]:
        statement = select(UpstreamAuthorisation).where(
            UpstreamAuthorisation.point_id == point_id,
            UpstreamAuthorisation.household_id == household_id)
        ended = []
        for authorisation in (await session.exec(statement)).all():
            if UpstreamState(authorisation.state).final:
                continue
            authorisation.state = UpstreamState.ENDED
            if authorisation.valid_until is None or authorisation.valid_until > at:
                authorisation.valid_until = at
            authorisation.updated_at = now
            session.add(authorisation)
            ended.append(authorisation.id)
        return ended


async def _still_covered(session: AsyncSession, authorisation: UpstreamAuthorisation,
                         now: datetime) -> bool:
    """True if another authorisation of the same household on the same point is usable now."""
    others = await session.exec(select(UpstreamAuthorisation).where(
        UpstreamAuthorisation.point_id == authorisation.point_id,
        UpstreamAuthorisation.id != authorisation.id,
        UpstreamAuthorisation.household_id == authorisation.household_id))
    return any(other.usable_at(now) for other in others.all())


def _check_role(actor: Actor) -> None:
    if actor.role not in _GROUND_TRUTH_ROLES:
        raise NotPermitted("Occupancy and upstream states are recorded by the operator, the DSO "
                           "or Passerelle itself.", field="actor", role=actor.role.value)

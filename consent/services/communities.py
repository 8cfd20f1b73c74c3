"""Collective self-consumption communities (PMO, R4): who takes part, through which point.

The operator registers a community for an organiser's app and adds the members' points (the
DSO knows the operation's perimeter); a household may leave. Membership releases nothing by
itself: the organiser reads a member's data only under that member's own consent to its app
(checked per member on every read), and a community aggregate needs at least
``Community.min_members`` members included (:mod:`consent.community`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import Clock
from consent.errors import Conflict, DomainError, NotFound, NotPermitted
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole
from consent.models import (
    DEFAULT_MIN_MEMBERS,
    MAX_COMMUNITY_K,
    MIN_COMMUNITY_K,
    Community,
    CommunityMember,
    MeteringPoint,
    Party,
    PartyKind,
    Recipient,
)
from consent.purposes import Purpose
from consent.services.base import Actor, flush_unique
from consent.services.consent_rules import check_occupied_by
from consent.services.queries import get_row, points_by_ref
from consent.storage import Database


@dataclass(frozen=True, slots=True)
class Member:
    """A current member: its household and point."""

    household_id: str
    point: PointRef


async def end_memberships(session: AsyncSession, point_id: str, household_id: str,
                          at: datetime) -> int:
    """End the household's memberships through ``point_id`` at ``at`` (R9); how many."""
    statement = select(CommunityMember).where(
        CommunityMember.point_id == point_id, CommunityMember.household_id == household_id,
        or_(col(CommunityMember.left_at).is_(None), col(CommunityMember.left_at) > at))
    ended = 0
    for member in (await session.exec(statement)).all():
        member.left_at = max(at, member.joined_at)
        session.add(member)
        ended += 1
    await session.flush()
    return ended


async def current_members(session: AsyncSession, tenant_id: str, community_id: str,
                          at: datetime) -> list[Member]:
    """The members at ``at``, ordered by point."""
    statement = select(CommunityMember.household_id, MeteringPoint.source,
                       MeteringPoint.identifier).join(
        MeteringPoint, col(MeteringPoint.id) == col(CommunityMember.point_id)).where(
        CommunityMember.tenant_id == tenant_id, CommunityMember.community_id == community_id,
        col(CommunityMember.joined_at) <= at,
        or_(col(CommunityMember.left_at).is_(None), col(CommunityMember.left_at) > at))
    rows = (await session.exec(statement)).all()
    return sorted((Member(h, PointRef(Source(s), i)) for h, s, i in rows),
                  key=lambda m: m.point)


class CommunityService:
    """Creates communities and manages their membership."""

    def __init__(self, db: Database, clock: Clock,
                 min_members: int = DEFAULT_MIN_MEMBERS) -> None:
        if not MIN_COMMUNITY_K <= min_members <= MAX_COMMUNITY_K:
            raise ValueError("a community aggregate needs at least two members, and k is at "
                             f"most {MAX_COMMUNITY_K}")
        self.db = db
        self.clock = clock
        self.min_members = min_members

    async def create(self, actor: Actor, *, name: str, organiser_id: str,
                     min_members: int | None = None) -> Community:
        """A community run by the organiser app ``organiser_id`` (a recipient declaring
        collective self-consumption). ``min_members`` (k) is never below the instance's nor
        above :data:`~consent.models.communities.MAX_COMMUNITY_K` (a 400, not an overflow of
        the column)."""
        _operator_only(actor)
        k = self.min_members if min_members is None else min_members
        if k < self.min_members:
            raise DomainError(f"k is at least {self.min_members} on this instance.",
                              field="min_members", rule="R4")
        if k > MAX_COMMUNITY_K:
            raise DomainError(f"k is at most {MAX_COMMUNITY_K}.", field="min_members",
                              rule="R4")
        if not name.strip() or len(name) > 200:
            raise DomainError("A community needs a name (at most 200 characters).",
                              field="name")
        async with self.db.session() as session:
            return await self.create_in(session, actor, name=name.strip(),
                                        organiser_id=organiser_id, min_members=k)

    async def create_in(self, session: AsyncSession, actor: Actor, *, name: str,
                        organiser_id: str, min_members: int) -> Community:
        """:meth:`create` inside the caller's transaction (checked name and k)."""
        organiser = await get_row(session, Recipient, actor.tenant_id, organiser_id,
                                  "recipient")
        if Purpose.COLLECTIVE_SELF_CONSUMPTION.value not in organiser.purposes:
            raise NotPermitted(f"{organiser.name!r} did not declare collective "
                               "self-consumption (R4, R5).", field="organiser_id")
        community = Community(tenant_id=actor.tenant_id, name=name, organiser_id=organiser.id,
                              min_members=min_members, created_at=self.clock.now())
        session.add(community)
        await session.flush()
        return community

    async def add_member(self, actor: Actor, community_id: str, household_id: str,
                         ref: PointRef) -> CommunityMember:
        """The household's point joins now; it must occupy the point (R8)."""
        _operator_only(actor)
        async with self.db.session() as session:
            return await self.add_member_in(session, actor, community_id, household_id, ref)

    async def add_member_in(self, session: AsyncSession, actor: Actor, community_id: str,
                            household_id: str, ref: PointRef) -> CommunityMember:
        """:meth:`add_member` inside the caller's transaction."""
        now = self.clock.now()
        await get_row(session, Community, actor.tenant_id, community_id, "community")
        household = await get_row(session, Party, actor.tenant_id, household_id, "party")
        if household.kind != PartyKind.HOUSEHOLD:
            raise NotFound(f"No household with id {household_id!r}.", field="household_id")
        [point] = await points_by_ref(session, actor.tenant_id, [ref])
        await check_occupied_by(session, [point], household.id, now)
        existing = await session.get(CommunityMember, (community_id, point.id))
        taken = Conflict(f"{ref} is already a member.", field="point")
        if existing is not None and existing.left_at is None:
            raise taken
        if existing is not None:
            # A rejoin replaces the ended row, only if it is still ended: a concurrent rejoin
            # that won has put a current row there, and the insert below then collides (409).
            session.expunge(existing)
            await session.exec(delete(CommunityMember).where(
                col(CommunityMember.community_id) == community_id,
                col(CommunityMember.point_id) == point.id,
                col(CommunityMember.left_at).is_not(None)))
        member = CommunityMember(tenant_id=actor.tenant_id, community_id=community_id,
                                 point_id=point.id, household_id=household.id, joined_at=now)
        session.add(member)
        await flush_unique(session, taken)  # the same point added at once twice (review 2)
        return member

    async def leave(self, actor: Actor, community_id: str, ref: PointRef) -> None:
        """The point leaves now (the household itself, or the operator)."""
        now = self.clock.now()
        async with self.db.session() as session:
            await get_row(session, Community, actor.tenant_id, community_id, "community")
            [point] = await points_by_ref(session, actor.tenant_id, [ref])
            member = await session.get(CommunityMember, (community_id, point.id))
            if member is None or member.left_at is not None or member.tenant_id != actor.tenant_id:
                raise NotFound(f"{ref} is not a member.", field="point")
            if actor.role is ActorRole.SUBJECT and actor.party_id != member.household_id:
                raise NotFound(f"{ref} is not a member.", field="point")
            if actor.role not in (ActorRole.SUBJECT, ActorRole.OPERATOR):
                raise NotPermitted("Only the household or the operator ends a membership.",
                                   field="actor")
            await end_memberships(session, point.id, member.household_id, now)

    async def get(self, tenant_id: str, community_id: str) -> Community:
        """The community, or :class:`NotFound`."""
        async with self.db.session() as session:
            return await get_row(session, Community, tenant_id, community_id, "community")

    async def members(self, tenant_id: str, community_id: str) -> list[Member]:
        """The current members."""
        async with self.db.session() as session:
            await get_row(session, Community, tenant_id, community_id, "community")
            return await current_members(session, tenant_id, community_id, self.clock.now())


def _operator_only(actor: Actor) -> None:
    if actor.role is not ActorRole.OPERATOR:
        raise NotPermitted("Communities and their members are registered by the operator.",
                           field="actor", role=actor.role.value)

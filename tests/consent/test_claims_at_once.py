"""Claims of one point at the same moment (R8: one client at a time; R9): exactly one household
becomes the occupant, every other claim is the usual "occupied_by_another_household" refusal,
never a 500 and never two occupancies. Real concurrency on both backends: each claim is its
own transaction on its own connection, started together with :func:`asyncio.gather`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from consent import identity
from consent.claims import Claimant, ClaimResult, ClaimService, DsoFacts
from consent.clock import FrozenClock
from consent.identifiers import PointRef
from consent.models import ClaimMethod, ClaimOutcome, Occupancy, PartyKind, PointClaim
from consent.services import Actor, ConsentService
from consent.services import registry as reg
from consent.services.occupancy import OccupancyService
from consent.storage import Database
from consent.vocabulary import Direction, Energy
from tests.support.world import ALICE_PRM, World

FREE = PointRef.parse("enedis:30001610071843")
HOUSEHOLDS = 4


def _services(db: Database, clock: FrozenClock) -> tuple[ClaimService, OccupancyService]:
    occupancy = OccupancyService(db, clock, ConsentService(db, clock))
    return ClaimService(db, clock, occupancy), occupancy


def _facts(clock: FrozenClock) -> DsoFacts:
    return DsoFacts(energy=Energy.ELECTRICITY, directions=(Direction.CONSUMPTION,),
                    timezone="Europe/Paris", customer_since=clock.now() - timedelta(days=30))


async def _claimants(db: Database, clock: FrozenClock, n: int) -> list[Claimant]:
    now = clock.now()
    out = []
    async with db.session() as session:
        for i in range(n):
            party = await reg.add_party(session, tenant_id="default",
                                        kind=PartyKind.HOUSEHOLD, name=f"H{i}", now=now)
            account = await identity.household_account(session, "default", party.id, now)
            out.append(Claimant(party.id, account.id, "default"))
    return out


async def _register(db: Database, clock: FrozenClock) -> None:
    async with db.session() as session:
        await reg.add_point(session, tenant_id="default", ref=FREE, now=clock.now(),
                            energy=Energy.ELECTRICITY, directions=[Direction.CONSUMPTION])


async def _recorded(db: Database) -> tuple[list[Occupancy], list[PointClaim]]:
    async with db.session() as session:
        occupancies = (await session.exec(select(Occupancy))).all()
        claims = (await session.exec(select(PointClaim))).all()
    return list(occupancies), list(claims)


async def _at_once(*calls: Awaitable[ClaimResult]) -> list[ClaimResult]:
    return list(await asyncio.gather(*calls))


@pytest.mark.parametrize("known", [False, True], ids=["new-point", "registered-point"])
async def test_households_claiming_one_point_at_once_leave_one_occupant(
        db: Database, clock: FrozenClock, known: bool) -> None:
    service, _ = _services(db, clock)
    who = await _claimants(db, clock, HOUSEHOLDS)
    if known:  # registered, nobody in it (the other case: the first claims insert it at once)
        await _register(db, clock)
    results = await _at_once(*(service.accept(w, FREE, ClaimMethod.METER_NUMBER, _facts(clock))
                               for w in who))
    occupancies, claims = await _recorded(db)
    [winner] = [r for r in results if r.accepted]
    assert [(o.household_id, o.ends_at) for o in occupancies] == [
        (winner.claim.household_id, None)]
    assert sorted((c.outcome, c.reason) for c in claims) == sorted(
        [(ClaimOutcome.ACCEPTED, "")] + [
            (ClaimOutcome.REFUSED, "occupied_by_another_household")] * (HOUSEHOLDS - 1))
    assert len({r.point.id for r in results if r.point is not None}) == 1


@pytest.mark.parametrize("known", [False, True], ids=["new-point", "registered-point"])
async def test_one_household_claiming_twice_at_once_moves_in_once(
        db: Database, clock: FrozenClock, known: bool) -> None:
    service, _ = _services(db, clock)
    [who] = await _claimants(db, clock, 1)
    if known:
        await _register(db, clock)
    results = await _at_once(*(service.accept(who, FREE, ClaimMethod.METER_NUMBER, _facts(clock))
                               for _ in range(3)))
    occupancies, _ = await _recorded(db)
    assert [o.household_id for o in occupancies] == [who.household_id]
    assert all(r.accepted for r in results)
    assert sorted(r.claim.reason for r in results) == ["", "already_occupied_by_you",
                                                       "already_occupied_by_you"]


async def test_a_claim_racing_a_staff_move_in_leaves_one_consistent_occupant(
        db: Database, clock: FrozenClock) -> None:
    service, occupancy = _services(db, clock)
    claimant, mover = await _claimants(db, clock, 2)
    await _register(db, clock)
    operator = Actor.system()
    # The move-in starts a day into the DSO's current customer period. Claim first: the claim
    # moves in at the period's start, the move-in ends it a day later (R9). Move-in first:
    # the claim finds another household in this period and is refused. Either way, the
    # mover is the one current occupant; before the lock the claim saw a free point and then
    # failed on the move-in's occupancy.
    move = occupancy.move_in(operator, FREE, mover.household_id,
                             clock.now() - timedelta(days=29))
    claim = service.accept(claimant, FREE, ClaimMethod.METER_NUMBER, _facts(clock))
    moved, claimed = await asyncio.gather(move, claim)
    occupancies, _ = await _recorded(db)
    [current] = [o for o in occupancies if o.ends_at is None]
    assert current.id == moved.occupancy.id
    assert current.household_id == mover.household_id
    if claimed.accepted:
        assert moved.previous is not None
        assert (moved.previous.household_id, moved.previous.ends_at) == (
            claimant.household_id, current.starts_at)
        assert len(occupancies) == 2
    else:
        assert claimed.claim.reason == "occupied_by_another_household"
        assert moved.previous is None
        assert len(occupancies) == 1


async def test_the_database_keeps_one_open_occupancy_per_point(
        db: Database, world: World, clock: FrozenClock) -> None:
    # The backstop behind the lock (revision 0013): a writer that skipped it cannot add a
    # second current occupant; ended occupancies beside the open one are history, allowed.
    point, now = world.points[ALICE_PRM], clock.now()
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(Occupancy(tenant_id="default", point_id=point.id,
                                  household_id=world.bob.id, starts_at=now, ends_at=None,
                                  created_at=now))
    async with db.session() as session:
        session.add(Occupancy(tenant_id="default", point_id=point.id, household_id=world.bob.id,
                              starts_at=world.moved_in - timedelta(days=9),
                              ends_at=world.moved_in, created_at=now))
    occupancies, _ = await _recorded(db)
    assert len([o for o in occupancies if o.point_id == point.id]) == 2

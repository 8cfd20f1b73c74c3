"""Move-ins (R9) and upstream state changes stop what depended on the old situation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from consent.clock import FrozenClock
from consent.errors import Conflict, InvalidPeriod, NotPermitted
from consent.lifecycle import ActorRole, ConsentState
from consent.models import Occupancy, UpstreamAuthorisation
from consent.services import Actor, ConsentService, OccupancyService
from consent.storage import Database
from consent.upstream import UpstreamState
from tests.support.counts import row_counts
from tests.support.world import ALICE_PCE, ALICE_PRM, World


@pytest.fixture
def occupancy(db: Database, clock: FrozenClock, consents: ConsentService) -> OccupancyService:
    return OccupancyService(db, clock, consents)


async def _upstream(db: Database, world: World) -> UpstreamAuthorisation:
    async with db.session() as session:
        return (await session.exec(select(UpstreamAuthorisation).where(
            UpstreamAuthorisation.point_id == world.points[ALICE_PRM].id))).one()


async def test_a_move_in_ends_the_previous_occupancy_and_its_consents(
        occupancy: OccupancyService, consents: ConsentService, world: World,
        clock: FrozenClock, db: Database) -> None:
    prm = await consents.give(world.as_alice, world.draft(clock.now()))
    gas = await consents.give(world.as_alice, world.draft(clock.now(), points=[ALICE_PCE]))
    clock.advance(timedelta(days=3))
    move_in = clock.now() - timedelta(days=1)
    result = await occupancy.move_in(world.as_operator, ALICE_PRM, world.bob.id, move_in)
    assert result.previous is not None
    assert result.previous.ends_at == move_in
    assert result.occupancy.starts_at == move_in
    assert [e.consent_id for e in result.revoked] == [prm.row.id]
    assert result.revoked[0].actor_role is ActorRole.SYSTEM
    assert (await consents.get("default", prm.row.id)).state is ConsentState.REVOKED
    assert (await consents.get("default", gas.row.id)).state is ConsentState.ACTIVE
    upstream = await _upstream(db, world)
    assert upstream.state is UpstreamState.ENDED
    assert upstream.valid_until == move_in
    # Alice can no longer share the point; Bob can.
    with pytest.raises(NotPermitted, match="R8"):
        await consents.give(world.as_alice, world.draft(clock.now()))
    bob = world.actor(world.bob, ActorRole.SUBJECT)
    await consents.give(bob, world.draft(clock.now(), grantor_id=world.bob.id))


async def test_bad_move_ins_write_nothing(occupancy: OccupancyService, world: World,
                                          clock: FrozenClock, db: Database) -> None:
    before = await row_counts(db)
    with pytest.raises(Conflict):
        await occupancy.move_in(world.as_operator, ALICE_PRM, world.alice.id, clock.now())
    with pytest.raises(InvalidPeriod):  # would rewrite history before Alice's move-in
        await occupancy.move_in(world.as_operator, ALICE_PRM, world.bob.id,
                                world.moved_in - timedelta(days=1))
    with pytest.raises(NotPermitted):
        await occupancy.move_in(world.as_alice, ALICE_PRM, world.bob.id, clock.now())
    assert await row_counts(db) == before
    async with db.session() as session:
        rows = (await session.exec(select(Occupancy).where(
            Occupancy.point_id == world.points[ALICE_PRM].id))).all()
    assert [(o.household_id, o.ends_at) for o in rows] == [(world.alice.id, None)]


async def test_upstream_suspension_resume_and_end(
        occupancy: OccupancyService, consents: ConsentService, world: World,
        clock: FrozenClock, db: Database) -> None:
    by_upstream = await consents.give(world.as_alice, world.draft(clock.now()))
    by_operator = await consents.give(world.as_alice, world.draft(clock.now()))
    await consents.suspend(world.as_operator, by_operator.row.id, reason="fraud check")
    authorisation = await _upstream(db, world)
    upstream = Actor.upstream()

    suspended = await occupancy.record_upstream_state(upstream, authorisation.id,
                                                      UpstreamState.SUSPENDED)
    assert [e.consent_id for e in suspended] == [by_upstream.row.id]
    resumed = await occupancy.record_upstream_state(upstream, authorisation.id,
                                                    UpstreamState.ACTIVE)
    assert [e.consent_id for e in resumed] == [by_upstream.row.id]  # not the operator's
    assert (await consents.get("default", by_operator.row.id)).state is ConsentState.SUSPENDED

    ended = await occupancy.record_upstream_state(upstream, authorisation.id,
                                                  UpstreamState.REVOKED)
    assert {e.consent_id for e in ended} == {by_upstream.row.id, by_operator.row.id}
    assert all(e.actor_role is ActorRole.UPSTREAM for e in ended)
    stored = await _upstream(db, world)
    assert stored.state is UpstreamState.REVOKED
    assert stored.valid_until == clock.now()

"""R9: a move-out (or a move-in) ends every consent, mandate, membership and supply contract of
the previous occupant on the point, at the move-out instant, with the reason recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from consent.cascade import EndCause, UpstreamCascade, UpstreamReport
from consent.clock import FrozenClock
from consent.errors import InvalidPeriod, NotFound, NotPermitted
from consent.lifecycle import ActorRole, ConsentState, MandateState
from consent.models import CommunityMember, MandateScope, SupplyContract
from consent.purposes import Purpose
from consent.services import Actor, MandateDraft
from consent.storage import Database
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset
from tests.rules.conftest import Rules, register_app
from tests.support.counts import row_counts
from tests.support.world import ALICE_PCE, ALICE_PRM


async def _organiser_and_supplier(db: Database, clock: FrozenClock) -> tuple[str, str]:
    pmo = await register_app(db, clock, "PMO", Purpose.COLLECTIVE_SELF_CONSUMPTION)
    supplier = await register_app(db, clock, "Volt", Purpose.SUPPLY_CONTRACT, is_supplier=True,
                                  supplier_code="VOLT-1")
    return pmo, supplier


async def test_a_move_out_ends_everything_of_the_occupant_at_that_instant(
        rules: Rules, clock: FrozenClock, db: Database) -> None:
    w = rules.world
    pmo, _supplier = await _organiser_and_supplier(db, clock)
    consent = await rules.consents.give(w.as_alice, w.draft(clock.now()))
    gas = await rules.consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_PCE]))
    mandate = await rules.mandates.give(w.as_alice, MandateDraft(
        w.alice.id, w.cpas.id, MandateScope.BOTH, [ALICE_PRM], [Dataset.DAILY_CONSUMPTION]))
    community = await rules.communities.create(w.as_operator, name="Quartier", organiser_id=pmo)
    await rules.communities.add_member(w.as_operator, community.id, w.alice.id, ALICE_PRM)
    await rules.supply.report(Actor.upstream(), ALICE_PRM, "VOLT-1", clock.now())
    clock.advance(timedelta(days=5))
    left = clock.now() - timedelta(days=2)  # the DSO reports it two days late

    result = await rules.occupancy.move_out(w.as_operator, ALICE_PRM, left,
                                            reason="DSO notice 4711")
    assert result.occupancy.ends_at == left
    ended = result.ended
    assert [e.consent_id for e in ended.consents] == [consent.row.id]
    assert [e.mandate_id for e in ended.mandates] == [mandate.row.id]
    assert (ended.memberships, ended.supply_contracts, len(ended.upstream)) == (1, 1, 1)
    stopped = await rules.consents.get("default", consent.row.id)
    assert stopped.state is ConsentState.REVOKED
    assert stopped.ended_at == left  # at the move-out instant, not when it was recorded
    [*_, event] = await rules.consents.history("default", consent.row.id)
    assert event.actor_role is ActorRole.SYSTEM
    assert event.reason == "occupant moved out (R9): DSO notice 4711"
    assert event.details["effective_at"] == left.isoformat()
    ended_mandate = await rules.mandates.get("default", mandate.row.id)
    assert (ended_mandate.state, ended_mandate.ended_at) == (MandateState.REVOKED, left)
    async with db.session() as s:
        assert (await s.exec(select(CommunityMember.left_at))).one() == left
        assert (await s.exec(select(SupplyContract.ends_at))).one() == left
    # The gas point is not concerned; the new occupant starts with nothing shared.
    assert (await rules.consents.get("default", gas.row.id)).state is ConsentState.ACTIVE
    moved = await rules.occupancy.move_in(w.as_operator, ALICE_PRM, w.bob.id, clock.now())
    assert moved.revoked == []
    assert moved.revoked_mandates == []


async def test_a_move_in_also_ends_the_previous_occupants_mandates(
        rules: Rules, clock: FrozenClock) -> None:
    w = rules.world
    mandate = await rules.mandates.give(w.as_alice, MandateDraft(
        w.alice.id, w.cpas.id, MandateScope.READ_DATA, [ALICE_PRM], [Dataset.DAILY_CONSUMPTION]))
    moved = await rules.occupancy.move_in(w.as_operator, ALICE_PRM, w.bob.id, clock.now())
    assert [e.mandate_id for e in moved.revoked_mandates] == [mandate.row.id]
    assert moved.revoked_mandates[0].reason == "occupant changed (R9)"


async def test_bad_move_outs_write_nothing(rules: Rules, clock: FrozenClock,
                                           db: Database) -> None:
    w = rules.world
    await rules.consents.give(w.as_alice, w.draft(clock.now()))
    before = await row_counts(db)
    with pytest.raises(InvalidPeriod):  # ahead of time
        await rules.occupancy.move_out(w.as_operator, ALICE_PRM, clock.now() + timedelta(1))
    with pytest.raises(NotFound):  # before anyone lived there
        await rules.occupancy.move_out(w.as_operator, ALICE_PRM,
                                       w.moved_in - timedelta(days=1))
    with pytest.raises(NotPermitted):  # a household does not record its own move-out here
        await rules.occupancy.move_out(w.as_alice, ALICE_PRM, clock.now())
    assert await row_counts(db) == before


async def test_the_dso_saying_not_held_is_a_move_out(rules: Rules, clock: FrozenClock,
                                                    db: Database) -> None:
    w = rules.world
    mandate = await rules.mandates.give(w.as_alice, MandateDraft(
        w.alice.id, w.cpas.id, MandateScope.BOTH, [ALICE_PRM], [Dataset.DAILY_CONSUMPTION]))
    consent = await rules.consents.give(w.as_alice, w.draft(clock.now()))
    clock.advance(timedelta(hours=1))
    outcome = await UpstreamCascade(rules.occupancy).apply(UpstreamReport(
        ALICE_PRM, f"UP-{ALICE_PRM.identifier}", UpstreamState.ENDED, EndCause.NOT_HELD,
        "ADAM-DC-0007"))
    assert [e.consent_id for e in outcome.events] == [consent.row.id]
    assert outcome.moved_out is not None
    assert outcome.moved_out.occupancy.ends_at == clock.now()
    assert [e.mandate_id for e in outcome.moved_out.ended.mandates] == [mandate.row.id]
    assert "ADAM-DC-0007" in outcome.moved_out.ended.mandates[0].reason
    again = await UpstreamCascade(rules.occupancy).apply(UpstreamReport(
        ALICE_PRM, f"UP-{ALICE_PRM.identifier}", UpstreamState.ENDED, EndCause.NOT_HELD))
    assert again.moved_out is None  # a repeated report changes nothing

"""R14 counted per holder and household: "a request about more than two points goes through a
stricter, written path". An online grant counts, with its own points, the points of the same
household that the same recipient (or mandatary) already holds under live grants; splitting a
three-point request into two online requests does not avoid the written path.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent.clock import FrozenClock
from consent.errors import NotPermitted
from consent.lifecycle import ActorRole, ConsentState, MandateState
from consent.models import MandateScope
from consent.purposes import LegalBasis, Purpose
from consent.services import MandateDraft
from consent.services.decisions import HouseholdDecisions, Narrowing
from consent.vocabulary import Dataset
from tests.rules.conftest import ALICE_EAN, Rules
from tests.support.world import ALICE_PCE, ALICE_PRM, BOB_EAN, BOB_PRM


async def test_three_points_for_one_recipient_online_in_two_requests(
        rules: Rules, clock: FrozenClock) -> None:
    w, consents = rules.world, rules.consents
    # The direct request is refused (R14)...
    with pytest.raises(NotPermitted, match="R14"):
        await consents.give(w.as_alice, w.draft(clock.now(),
                                                points=[ALICE_PRM, ALICE_PCE, ALICE_EAN]))
    # ...and so is the same three points in two online requests.
    first = await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_PRM, ALICE_PCE]))
    assert first.row.state is ConsentState.ACTIVE
    with pytest.raises(NotPermitted, match="already holds 2") as refused:
        await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_EAN]))
    extra = refused.value.extra
    assert (extra["rule"], extra["held"], extra["points"]) == ("R14", 2, 3)
    # The written path stays open for it.
    requested = await consents.request(w.as_alice, w.draft(clock.now(), points=[ALICE_EAN]))
    assert requested.row.state is ConsentState.REQUESTED


async def test_three_points_for_one_mandatary_online_in_two_mandates(
        rules: Rules, clock: FrozenClock) -> None:
    w, mandates = rules.world, rules.mandates
    until = clock.now() + timedelta(days=30)

    def draft(points: list) -> MandateDraft:  # type: ignore[type-arg]
        return MandateDraft(w.alice.id, w.bob.id, MandateScope.READ_DATA, points,
                            [Dataset.DAILY_CONSUMPTION], valid_until=until)

    with pytest.raises(NotPermitted, match="R14"):
        await mandates.give(w.as_alice, draft([ALICE_PRM, ALICE_PCE, ALICE_EAN]))
    given = await mandates.give(w.as_alice, draft([ALICE_PRM, ALICE_PCE]))
    assert given.row.state is MandateState.ACTIVE
    with pytest.raises(NotPermitted, match="R14"):
        await mandates.give(w.as_alice, draft([ALICE_EAN]))


async def test_the_same_points_again_and_other_recipients_are_not_counted(
        rules: Rules, clock: FrozenClock) -> None:
    w, consents = rules.world, rules.consents
    await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_PRM, ALICE_PCE]))
    # Another dataset of a point already held adds no point.
    again = await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_PCE]))
    assert again.row.state is ConsentState.ACTIVE
    # Another recipient holds nothing yet.
    other = await consents.give(w.as_alice, w.draft(
        clock.now(), points=[ALICE_EAN], recipient_id=w.other_recipient.id,
        purpose=Purpose.RESEARCH, legal_basis=LegalBasis.PUBLIC_TASK))
    assert other.row.state is ConsentState.ACTIVE


async def test_ended_grants_hold_nothing(rules: Rules, clock: FrozenClock) -> None:
    w, consents = rules.world, rules.consents
    first = await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_PRM, ALICE_PCE]))
    await consents.withdraw(w.as_alice, first.row.id)
    later = await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_EAN]))
    assert later.row.state is ConsentState.ACTIVE
    # A consent past its end holds nothing, even before the sweep writes its expiry.
    short = await consents.give(w.as_alice, w.draft(
        clock.now(), points=[ALICE_PRM], valid_until=clock.now() + timedelta(days=2)))
    clock.advance(timedelta(days=3))
    assert (await consents.get("default", short.row.id)).state is ConsentState.ACTIVE
    after = await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_PCE]))
    assert after.row.state is ConsentState.ACTIVE


async def test_a_narrowing_does_not_count_the_consent_it_replaces(
        rules: Rules, clock: FrozenClock) -> None:
    w, consents = rules.world, rules.consents
    given = await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_PRM, ALICE_PCE]))
    narrowed = await HouseholdDecisions(consents).narrow(
        w.as_alice, given.row.id, Narrowing(points=[ALICE_PCE]))
    assert narrowed.row.state is ConsentState.ACTIVE
    # Only the narrowed consent's point is held now: one more point is still online.
    more = await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_EAN]))
    assert more.row.state is ConsentState.ACTIVE


async def test_standing_mandates_count_per_household(rules: Rules, clock: FrozenClock) -> None:
    """A CPAS assists many households: each household's points are counted apart."""
    w, mandates = rules.world, rules.mandates
    as_bob = w.actor(w.bob, ActorRole.SUBJECT)
    for actor, household, points in ((w.as_alice, w.alice, [ALICE_PRM, ALICE_PCE]),
                                     (as_bob, w.bob, [BOB_PRM, BOB_EAN])):
        given = await mandates.give(actor, MandateDraft(
            household.id, w.cpas.id, MandateScope.READ_DATA, points,
            [Dataset.DAILY_CONSUMPTION]))
        assert given.row.state is MandateState.ACTIVE
    # A person working for the CPAS acts under its mandates: a third point to them is refused.
    with pytest.raises(NotPermitted, match="already holds 2"):
        await mandates.give(w.as_alice, MandateDraft(
            w.alice.id, rules.social_worker.id, MandateScope.READ_DATA, [ALICE_EAN],
            [Dataset.DAILY_CONSUMPTION], valid_until=clock.now() + timedelta(days=30)))

"""R14 (more than two points: proof and staff review), R10/R11 (mandataries act within their
mandate, standing mandates for social services) and R19 (segregation of duties)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from consent.clock import FrozenClock
from consent.errors import DomainError, NotFound, NotPermitted
from consent.lifecycle import ActorRole, ConsentState, MandateState
from consent.models import MandateScope, ProofKind, ReviewState
from consent.services import MandateDraft, ProofUpload
from consent.storage import Database
from consent.vocabulary import Dataset
from tests.rules.conftest import ALICE_EAN, Rules
from tests.support.counts import row_counts
from tests.support.world import ALICE_PCE, ALICE_PRM

PDF = ProofUpload(ProofKind.SIGNED_MANDATE, "application/pdf", 50_000, "cd" * 32, "blob/a")
THREE = [ALICE_PRM, ALICE_PCE, ALICE_EAN]


def _mandate(r: Rules, **overrides: object) -> MandateDraft:
    values: dict[str, object] = {
        "mandator_id": r.world.alice.id, "mandatary_id": r.world.cpas.id,
        "scope": MandateScope.BOTH, "points": [ALICE_PRM],
        "datasets": [Dataset.DAILY_CONSUMPTION]}
    values.update(overrides)
    return MandateDraft(**values)  # type: ignore[arg-type]


async def test_two_points_online_three_points_written_path(rules: Rules, clock: FrozenClock,
                                                           db: Database) -> None:
    w, consents = rules.world, rules.consents
    two = await consents.give(w.as_alice, w.draft(clock.now(), points=[ALICE_PRM, ALICE_PCE]))
    assert two.row.state is ConsentState.ACTIVE
    before = await row_counts(db)
    with pytest.raises(NotPermitted, match="R14") as denied:
        await consents.give(w.as_alice, w.draft(clock.now(), points=THREE))
    assert denied.value.extra["rule"] == "R14"
    assert await row_counts(db) == before  # nothing written

    requested = await consents.request(w.as_alice, w.draft(clock.now(), points=THREE))
    with pytest.raises(NotPermitted, match="R14"):
        await consents.grant(w.as_alice, requested.row.id)
    with pytest.raises(DomainError, match="proof"):
        await consents.submit(w.as_alice, requested.row.id)
    await consents.attach_proof(w.as_alice, requested.row.id, PDF)
    submitted = await consents.submit(w.as_alice, requested.row.id)
    assert submitted.row.state is ConsentState.PENDING_REVIEW
    reviewer = w.actor(w.reviewer, ActorRole.REVIEWER)
    approved = await consents.approve(reviewer, requested.row.id, reason="form signed")
    assert approved.row.state is ConsentState.ACTIVE
    assert approved.row.granted_at == clock.now()
    [proof] = await consents.proofs("default", requested.row.id)
    assert (proof.review_state, proof.reviewed_by) == (ReviewState.ACCEPTED, w.reviewer.id)
    assert [e.action for e in await consents.history("default", requested.row.id)] == [
        "request", "submit", "approve"]


async def test_a_consent_review_is_never_self_approved(rules: Rules, clock: FrozenClock) -> None:
    w, consents = rules.world, rules.consents
    requested = await consents.request(w.as_alice, w.draft(clock.now(), points=THREE))
    # The reviewer enters the paper form herself (as operator): she may not approve it.
    await consents.attach_proof(w.actor(w.reviewer, ActorRole.OPERATOR), requested.row.id, PDF)
    await consents.submit(w.as_operator, requested.row.id)
    with pytest.raises(NotPermitted, match="R19"):
        await consents.approve(w.actor(w.reviewer, ActorRole.REVIEWER), requested.row.id)
    with pytest.raises(NotPermitted, match="R19"):  # the household reviewing itself
        await consents.approve(w.actor(w.alice, ActorRole.REVIEWER), requested.row.id)
    with pytest.raises(NotPermitted):  # an operator is not a reviewer
        await consents.approve(w.as_operator, requested.row.id)
    other = w.actor(w.operator, ActorRole.REVIEWER)
    refused = await consents.refuse(other, requested.row.id, reason="unsigned")
    assert refused.row.state is ConsentState.REFUSED
    [proof] = await consents.proofs("default", requested.row.id)
    assert proof.review_state is ReviewState.REJECTED


async def test_a_household_gives_a_mandate_online_up_to_two_points(rules: Rules,
                                                                   clock: FrozenClock) -> None:
    w, mandates = rules.world, rules.mandates
    until = clock.now() + timedelta(days=30)
    given = await mandates.give(w.as_alice, _mandate(rules, mandatary_id=w.bob.id,
                                                     points=[ALICE_PRM, ALICE_PCE],
                                                     valid_until=until))
    assert given.row.state is MandateState.ACTIVE
    assert given.event.action == "grant"
    with pytest.raises(NotPermitted, match="R14"):
        await mandates.give(w.as_alice, _mandate(rules, mandatary_id=w.bob.id, points=THREE,
                                                 valid_until=until))
    # The written path for three points: proof, submit, review.
    asked = await mandates.request(w.as_alice, _mandate(rules, mandatary_id=w.bob.id,
                                                        points=THREE, valid_until=until))
    await mandates.attach_proof(w.as_alice, asked.row.id, PDF)
    await mandates.submit(w.as_alice, asked.row.id)
    approved = await mandates.approve(w.actor(w.reviewer, ActorRole.REVIEWER), asked.row.id)
    assert approved.row.state is MandateState.ACTIVE


async def test_only_social_services_hold_standing_mandates(rules: Rules, clock: FrozenClock,
                                                           db: Database) -> None:
    w, mandates = rules.world, rules.mandates
    before = await row_counts(db)
    with pytest.raises(DomainError, match="R11"):
        await mandates.give(w.as_alice, _mandate(rules, mandatary_id=w.bob.id))
    assert await row_counts(db) == before
    standing = await mandates.give(w.as_alice, _mandate(rules))  # the CPAS
    assert standing.row.valid_until is None
    assert standing.row.state is MandateState.ACTIVE


async def test_the_reviewer_may_not_work_for_the_mandatary(rules: Rules) -> None:
    w, mandates = rules.world, rules.mandates
    asked = await mandates.request(rules.as_worker, _mandate(rules))
    await mandates.attach_proof(w.as_operator, asked.row.id, PDF)
    await mandates.submit(w.as_operator, asked.row.id)
    with pytest.raises(NotPermitted, match="R19"):
        await mandates.approve(w.actor(rules.social_worker, ActorRole.REVIEWER), asked.row.id)
    approved = await mandates.approve(w.actor(w.reviewer, ActorRole.REVIEWER), asked.row.id)
    assert approved.row.state is MandateState.ACTIVE
    assert approved.event.details["mandatary_id"] == w.cpas.id


async def test_a_social_worker_acts_under_the_cpas_standing_mandate(
        rules: Rules, clock: FrozenClock) -> None:
    w, consents, mandates = rules.world, rules.consents, rules.mandates
    mandate = (await mandates.give(w.as_alice, _mandate(rules))).row
    given = await consents.give(rules.as_worker, w.draft(clock.now()))
    # Recorded as done by the mandatary for the household.
    assert given.row.grantor_id == w.alice.id
    assert given.row.mandate_id == mandate.id
    assert given.event.actor_role is ActorRole.MANDATARY
    assert given.event.actor_party_id == rules.social_worker.id
    assert given.event.details["mandate_id"] == mandate.id
    stranger = w.actor(rules.stranger_worker, ActorRole.MANDATARY)
    with pytest.raises(NotFound):  # works for no mandatary of Alice
        await consents.give(stranger, w.draft(clock.now()))


async def test_a_mandatary_beyond_its_scope_or_its_term_is_denied(
        rules: Rules, clock: FrozenClock) -> None:
    w, consents, mandates = rules.world, rules.consents, rules.mandates
    await mandates.give(w.as_alice, _mandate(
        rules, mandatary_id=w.bob.id, valid_until=clock.now() + timedelta(days=2)))
    bob = w.actor(w.bob, ActorRole.MANDATARY)
    with pytest.raises(NotPermitted, match="does not cover") as caught:  # another dataset
        await consents.give(bob, w.draft(clock.now(), datasets=[
            Dataset.CONSUMPTION_LOAD_CURVE]))
    assert caught.value.extra["rule"] == "R10"
    with pytest.raises(NotPermitted, match="does not cover"):  # another point
        await consents.give(bob, w.draft(clock.now(), points=[ALICE_PCE]))
    within = await consents.give(bob, w.draft(clock.now()))
    assert within.row.state is ConsentState.ACTIVE
    clock.advance(timedelta(days=2))  # the mandate's last instant is past
    with pytest.raises(NotFound, match="No active mandate"):
        await consents.give(bob, w.draft(clock.now()))
    with pytest.raises(NotFound):
        await consents.withdraw(bob, within.row.id)


async def test_a_read_only_mandate_cannot_be_used_to_manage(rules: Rules,
                                                            clock: FrozenClock) -> None:
    w = rules.world
    await rules.mandates.give(w.as_alice, replace(
        _mandate(rules), scope=MandateScope.READ_DATA))
    with pytest.raises(NotPermitted, match="does not cover"):
        await rules.consents.give(rules.as_worker, w.draft(clock.now()))

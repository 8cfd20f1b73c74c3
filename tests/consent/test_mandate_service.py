"""The mandate service on both backends, and consents given by a mandatary (R2, R10, R11, R19)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from consent.clock import FrozenClock
from consent.errors import Conflict, DomainError, IllegalTransition, NotFound, NotPermitted
from consent.lifecycle import ActorRole, ConsentState, MandateState
from consent.models import Mandate, MandateScope, ProofKind, ReviewState
from consent.services import Actor, ConsentService, MandateDraft, MandateService, ProofUpload
from consent.storage import Database
from consent.vocabulary import Dataset
from tests.support.counts import row_counts
from tests.support.world import ALICE_PCE, ALICE_PRM, BOB_PRM, World

PDF = ProofUpload(ProofKind.SIGNED_MANDATE, "application/pdf", 120_000, "ab" * 32, "blob/1")


def _draft(world: World, **overrides: object) -> MandateDraft:
    values: dict[str, object] = {
        "mandator_id": world.alice.id, "mandatary_id": world.cpas.id,
        "scope": MandateScope.MANAGE_CONSENTS, "points": [ALICE_PRM],
        "datasets": [Dataset.DAILY_CONSUMPTION]}
    values.update(overrides)
    return MandateDraft(**values)  # type: ignore[arg-type]


async def _active_mandate(mandates: MandateService, world: World, **overrides: object) -> Mandate:
    cpas = world.actor(world.cpas, ActorRole.MANDATARY)
    requested = await mandates.request(cpas, _draft(world, **overrides))
    await mandates.attach_proof(cpas, requested.row.id,
                                replace(PDF, storage_key=f"blob/{requested.row.id}"))
    await mandates.submit(cpas, requested.row.id)
    approved = await mandates.approve(world.actor(world.reviewer, ActorRole.REVIEWER),
                                      requested.row.id, reason="signature checked")
    return approved.row


async def test_request_proof_submit_approve(mandates: MandateService, world: World,
                                            clock: FrozenClock) -> None:
    mandate = await _active_mandate(mandates, world)
    assert mandate.state is MandateState.ACTIVE
    assert mandate.version == 3
    history = await mandates.history("default", mandate.id)
    assert [e.action for e in history] == ["request", "submit", "approve"]
    [proof] = await mandates.proofs("default", mandate.id)
    assert proof.review_state is ReviewState.ACCEPTED
    assert proof.reviewed_by == world.reviewer.id
    assert proof.uploaded_by == world.cpas.id
    assert proof.reviewed_at == clock.now()


async def test_submit_needs_a_proof_and_writes_nothing_without(
        mandates: MandateService, world: World, db: Database) -> None:
    requested = await mandates.request(world.as_alice, _draft(world))
    before = await row_counts(db)
    with pytest.raises(DomainError, match="proof"):
        await mandates.submit(world.as_alice, requested.row.id)
    assert await row_counts(db) == before


async def test_segregation_of_duties(mandates: MandateService, world: World) -> None:
    requested = await mandates.request(world.as_operator, _draft(world))
    # The reviewer uploads the proof herself: she may not approve it (R19).
    reviewer = world.actor(world.reviewer, ActorRole.REVIEWER)
    await mandates.attach_proof(world.actor(world.reviewer, ActorRole.OPERATOR),
                                requested.row.id, PDF)
    await mandates.submit(world.as_alice, requested.row.id)
    with pytest.raises(NotPermitted, match="R19"):
        await mandates.approve(reviewer, requested.row.id)
    with pytest.raises(NotPermitted):  # operators do not approve, reviewers do
        await mandates.approve(world.as_operator, requested.row.id)
    other = Actor(ActorRole.REVIEWER, party_id=world.operator.id)
    refused = await mandates.refuse(other, requested.row.id, reason="unsigned")
    assert refused.row.state is MandateState.REFUSED
    [proof] = await mandates.proofs("default", requested.row.id)
    assert proof.review_state is ReviewState.REJECTED
    with pytest.raises(IllegalTransition):
        await mandates.attach_proof(world.as_operator, requested.row.id, PDF)


async def test_a_stored_document_is_attached_once(mandates: MandateService,
                                                  world: World) -> None:
    first = await mandates.request(world.as_alice, _draft(world))
    second = await mandates.request(world.as_alice, _draft(world))
    await mandates.attach_proof(world.as_alice, first.row.id, PDF)
    with pytest.raises(Conflict):
        await mandates.attach_proof(world.as_alice, second.row.id, PDF)


@pytest.mark.parametrize("upload", [
    ProofUpload(ProofKind.SIGNED_MANDATE, "text/html", 10, "ab" * 32, "k"),
    ProofUpload(ProofKind.SIGNED_MANDATE, "application/pdf", 0, "ab" * 32, "k"),
    ProofUpload(ProofKind.SIGNED_MANDATE, "application/pdf", 5 * 1024 * 1024, "ab" * 32, "k"),
    ProofUpload(ProofKind.SIGNED_MANDATE, "application/pdf", 10, "AB" * 32, "k"),
])
async def test_bad_proof_metadata_is_refused(mandates: MandateService, world: World,
                                             db: Database, upload: ProofUpload) -> None:
    requested = await mandates.request(world.as_alice, _draft(world))
    before = await row_counts(db)
    with pytest.raises(DomainError):
        await mandates.attach_proof(world.as_alice, requested.row.id, upload)
    assert await row_counts(db) == before


async def test_invalid_requests(mandates: MandateService, world: World, db: Database) -> None:
    before = await row_counts(db)
    with pytest.raises(NotPermitted, match="R8"):  # Bob's point
        await mandates.request(world.as_alice, _draft(world, points=[BOB_PRM]))
    with pytest.raises(NotFound):  # Alice asks in Bob's name
        await mandates.request(world.as_alice, _draft(world, mandator_id=world.bob.id))
    with pytest.raises(DomainError):  # to herself
        await mandates.request(world.as_alice, _draft(world, mandatary_id=world.alice.id))
    with pytest.raises(DomainError):
        await mandates.request(world.as_alice, _draft(world, scope="everything"))
    with pytest.raises(NotPermitted):  # recipients do not create mandates
        await mandates.request(world.as_recipient, _draft(world))
    assert await row_counts(db) == before


async def test_withdraw_suspend_resume_expire(mandates: MandateService, world: World,
                                              clock: FrozenClock) -> None:
    mandate = await _active_mandate(mandates, world,
                                    valid_until=clock.now() + timedelta(days=10))
    await mandates.suspend(world.as_operator, mandate.id)
    await mandates.resume(world.as_operator, mandate.id)
    clock.advance(timedelta(days=11))
    assert await mandates.expire_due() == [mandate.id]
    standing = await _active_mandate(mandates, world)
    assert await mandates.expire_due() == []
    withdrawn = await mandates.withdraw(world.actor(world.cpas, ActorRole.MANDATARY),
                                        standing.id, reason="no longer assisting")
    assert withdrawn.row.state is MandateState.WITHDRAWN
    assert withdrawn.row.ended_at == clock.now()


async def test_a_mandatary_gives_consent_within_its_mandate(
        mandates: MandateService, consents: ConsentService, world: World,
        clock: FrozenClock) -> None:
    cpas = world.actor(world.cpas, ActorRole.MANDATARY)
    with pytest.raises(NotFound):  # no mandate yet
        await consents.give(cpas, world.draft(clock.now()))
    mandate = await _active_mandate(mandates, world)
    given = await consents.give(cpas, world.draft(clock.now()))
    assert given.row.state is ConsentState.ACTIVE
    assert given.row.mandate_id == mandate.id
    assert given.event.details["mandate_id"] == mandate.id
    with pytest.raises(NotPermitted, match="mandate"):  # the gas point is not covered
        await consents.give(cpas, world.draft(clock.now(), points=[ALICE_PCE]))
    await mandates.withdraw(world.as_alice, mandate.id)
    with pytest.raises(NotFound):  # the mandate is gone, and so is the standing
        await consents.withdraw(cpas, given.row.id)
    await consents.withdraw(world.as_alice, given.row.id)


async def test_a_read_only_mandate_does_not_manage_consents(
        mandates: MandateService, consents: ConsentService, world: World,
        clock: FrozenClock) -> None:
    await _active_mandate(mandates, world, scope=MandateScope.READ_DATA)
    with pytest.raises(NotPermitted):
        await consents.give(world.actor(world.cpas, ActorRole.MANDATARY),
                            world.draft(clock.now()))

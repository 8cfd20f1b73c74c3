"""The consent service on SQLite and PostgreSQL: transitions, validation, concurrency, hooks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import FrozenClock
from consent.errors import (
    ConcurrentUpdate,
    DomainError,
    IllegalTransition,
    InvalidIdentifier,
    InvalidPeriod,
    NotFound,
    NotPermitted,
    UnknownVocabulary,
)
from consent.identifiers import PointRef
from consent.lifecycle import CONSENT_MACHINE, ActorRole, ConsentAction, ConsentState
from consent.models import AppendOnlyError, Consent, ConsentEvent, Occupancy
from consent.services import Actor, ConsentService
from consent.services.base import apply_transition
from consent.storage import Database
from consent.vocabulary import Dataset, Resolution
from tests.support.counts import row_counts
from tests.support.world import ALICE_PCE, ALICE_PRM, BOB_PRM, World


async def test_give_writes_an_active_consent_with_its_two_events(
        consents: ConsentService, world: World, clock: FrozenClock) -> None:
    now = clock.now()
    result = await consents.give(world.as_alice, world.draft(
        now, points=[ALICE_PRM, ALICE_PCE], datasets=["daily_consumption"],
        max_resolution="PT30M", history_days=365, text_version="v1", text_hash="ab" * 32))
    consent = await consents.get("default", result.row.id)
    assert consent.state is ConsentState.ACTIVE
    assert consent.version == 2
    assert consent.granted_at == now
    assert consent.max_resolution is Resolution.PT30M
    assert consent.valid_from == now
    assert consent.legal_basis == world.recipient.legal_basis
    assert {p.ref for p in await consents.points("default", consent.id)} == {ALICE_PRM, ALICE_PCE}
    history = await consents.history("default", consent.id)
    assert [(e.action, e.from_state, e.to_state, e.version) for e in history] == [
        ("request", None, "requested", 1), ("grant", "requested", "active", 2)]
    assert history[1].actor_party_id == world.alice.id
    assert history[1].at == now


async def test_a_recipient_requests_and_the_household_grants(
        consents: ConsentService, world: World, clock: FrozenClock) -> None:
    requested = await consents.request(world.as_recipient, world.draft(clock.now()))
    assert requested.row.state is ConsentState.REQUESTED
    clock.advance(timedelta(minutes=3))
    granted = await consents.grant(world.as_alice, requested.row.id, expected_version=1)
    assert granted.row.state is ConsentState.ACTIVE
    assert granted.event.from_state == "requested"
    assert granted.event.version == 2
    assert granted.row.granted_at == clock.now()


def _bad_drafts(world: World, now: Any) -> list[tuple[Any, type[Exception]]]:
    year = now + timedelta(days=365)
    return [
        (world.draft(now, datasets=["weather"]), UnknownVocabulary),
        (world.draft(now, datasets=[]), DomainError),
        (world.draft(now, datasets=[Dataset.IDENTITY]), NotPermitted),  # not registered (R5)
        (world.draft(now, purpose="marketing"), UnknownVocabulary),
        (world.draft(now, purpose="solar_assessment"), NotPermitted),  # not declared (R5)
        (world.draft(now, legal_basis="contract"), DomainError),
        (world.draft(now, max_resolution="PT5M"), UnknownVocabulary),
        (world.draft(now, valid_until=now + timedelta(days=3 * 366)), InvalidPeriod),  # cap
        (world.draft(now, valid_until=now - timedelta(days=1)), InvalidPeriod),
        (world.draft(now, valid_from=now - timedelta(days=2), valid_until=year), InvalidPeriod),
        (world.draft(now, valid_until=year.replace(tzinfo=None)), InvalidPeriod),
        (world.draft(now, history_days=3 * 366 + 1), InvalidPeriod),  # R12
        (world.draft(now, history_days=0), InvalidPeriod),
        (world.draft(now, data_from=year + timedelta(days=1)), InvalidPeriod),
        (world.draft(now, points=[BOB_PRM]), NotPermitted),  # R8: not Alice's
        (world.draft(now, points=[PointRef.parse("enedis:11111111111111")]), NotFound),
        (world.draft(now, points=[]), DomainError),
        (world.draft(now, datasets=[Dataset.DAILY_PRODUCTION]), DomainError),  # no production
        (world.draft(now, grantor_id=world.cpas.id), NotFound),  # not a household
        (world.draft(now, recipient_id="nope"), NotFound),
    ]


async def test_every_invalid_request_is_refused_and_writes_nothing(
        consents: ConsentService, world: World, clock: FrozenClock, db: Database) -> None:
    before = await row_counts(db)
    cases = _bad_drafts(world, clock.now())
    for draft, error in cases:
        actor = world.as_alice
        if draft.grantor_id != world.alice.id:
            actor = Actor(ActorRole.RECIPIENT, party_id=world.recipient.party_id)
        with pytest.raises(error):
            await consents.give(actor, draft)
    assert await row_counts(db) == before
    assert len(cases) == 20


def test_an_invalid_identifier_cannot_even_be_named() -> None:
    with pytest.raises(InvalidIdentifier, match="check digit"):
        PointRef.parse("inhouse:541449100000001237")


async def test_grant_rechecks_occupancy_and_writes_nothing_when_it_fails(
        consents: ConsentService, world: World, clock: FrozenClock, db: Database) -> None:
    requested = await consents.request(world.as_recipient, world.draft(clock.now()))
    async with db.session() as session:  # Alice moves out before answering (R8, R9)
        occupancy = (await session.exec(select(Occupancy).where(
            Occupancy.point_id == world.points[ALICE_PRM].id))).one()
        occupancy.ends_at = clock.now()
        session.add(occupancy)
    clock.advance(timedelta(hours=1))
    before = await row_counts(db)
    with pytest.raises(NotPermitted, match="R8"):
        await consents.grant(world.as_alice, requested.row.id)
    assert await row_counts(db) == before
    consent = await consents.get("default", requested.row.id)
    assert (consent.state, consent.version) == (ConsentState.REQUESTED, 1)


async def test_grant_after_the_access_period_is_refused(
        consents: ConsentService, world: World, clock: FrozenClock) -> None:
    requested = await consents.request(world.as_recipient, world.draft(
        clock.now(), valid_until=clock.now() + timedelta(days=1)))
    clock.advance(timedelta(days=2))
    with pytest.raises(InvalidPeriod):
        await consents.grant(world.as_alice, requested.row.id)
    assert await consents.expire_due() == [requested.row.id]


async def test_withdrawal_is_final_and_illegal_moves_name_from_and_to(
        consents: ConsentService, world: World, clock: FrozenClock) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    withdrawn = await consents.withdraw(world.as_alice, given.row.id, reason="changed my mind")
    assert withdrawn.row.state is ConsentState.WITHDRAWN
    assert withdrawn.row.ended_at == clock.now()
    assert withdrawn.event.reason == "changed my mind"
    with pytest.raises(IllegalTransition) as caught:
        await consents.revoke(world.as_operator, given.row.id)
    assert (caught.value.from_state, caught.value.to_state) == ("withdrawn", "revoked")
    with pytest.raises(IllegalTransition):
        await consents.renew(world.as_alice, given.row.id, clock.now() + timedelta(days=400))
    assert len(await consents.history("default", given.row.id)) == 3


async def test_only_related_actors_see_a_consent(
        consents: ConsentService, world: World, clock: FrozenClock) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    bob = world.actor(world.bob, ActorRole.SUBJECT)
    with pytest.raises(NotFound):
        await consents.withdraw(bob, given.row.id)
    other_app = Actor(ActorRole.RECIPIENT, party_id=world.other_recipient.party_id)
    with pytest.raises(NotFound):
        await consents.revoke(other_app, given.row.id)
    with pytest.raises(NotPermitted):  # a recipient revokes, it does not "withdraw"
        await consents.withdraw(world.as_recipient, given.row.id)
    with pytest.raises(NotFound):  # another tenant sees nothing (R24)
        await consents.withdraw(Actor(ActorRole.SUBJECT, party_id=world.alice.id,
                                      tenant_id="other"), given.row.id)
    revoked = await consents.revoke(world.as_recipient, given.row.id, reason="app closed")
    assert revoked.row.state is ConsentState.REVOKED
    assert revoked.event.actor_role is ActorRole.RECIPIENT


async def test_suspend_resume_renew_expire(
        consents: ConsentService, world: World, clock: FrozenClock) -> None:
    given = await consents.give(world.as_alice, world.draft(
        clock.now(), valid_until=clock.now() + timedelta(days=30)))
    cid = given.row.id
    await consents.suspend(world.as_operator, cid, reason="upstream check")
    resumed = await consents.resume(Actor.upstream(), cid)
    assert resumed.row.state is ConsentState.ACTIVE
    assert resumed.row.version == 4
    with pytest.raises(InvalidPeriod):  # a renewal moves the end later
        await consents.renew(world.as_alice, cid, clock.now() + timedelta(days=10))
    with pytest.raises(InvalidPeriod):  # and stays within the cap, counted from now
        await consents.renew(world.as_alice, cid, clock.now() + timedelta(days=3 * 366))
    new_end = clock.now() + timedelta(days=200)
    renewed = await consents.renew(world.as_alice, cid, new_end)
    assert renewed.row.state is ConsentState.ACTIVE
    assert renewed.row.valid_until == new_end
    assert renewed.event.action == "renew"
    assert renewed.event.details["valid_until"]["to"] == \
        new_end.isoformat()
    assert renewed.row.arrangement_id == given.row.arrangement_id
    clock.advance(timedelta(days=100))
    assert await consents.expire_due() == []
    clock.advance(timedelta(days=101))
    assert await consents.expire_due() == [cid]
    assert (await consents.get("default", cid)).state is ConsentState.EXPIRED
    assert await consents.expire_due() == []


async def test_a_stale_expected_version_is_refused(
        consents: ConsentService, world: World, clock: FrozenClock, db: Database) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    before = await row_counts(db)
    with pytest.raises(ConcurrentUpdate):
        await consents.withdraw(world.as_alice, given.row.id, expected_version=1)
    assert await row_counts(db) == before
    await consents.withdraw(world.as_alice, given.row.id, expected_version=2)


async def test_of_two_interleaved_writers_only_one_wins(
        consents: ConsentService, world: World, clock: FrozenClock, db: Database) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    make_event = partial(ConsentEvent, consent_id=given.row.id)
    async with db.session() as first:
        stale = (await first.exec(select(Consent).where(Consent.id == given.row.id))).one()
        # Meanwhile, another request withdraws the consent and commits.
        await consents.withdraw(world.as_alice, given.row.id)
        with pytest.raises(ConcurrentUpdate):
            await apply_transition(first, stale, CONSENT_MACHINE, ConsentAction.REVOKE,
                                   world.as_operator, clock.now(), make_event)
        await first.rollback()
    history = await consents.history("default", given.row.id)
    assert [e.to_state for e in history] == ["requested", "active", "withdrawn"]


async def test_racing_transitions_have_exactly_one_winner(
        consents: ConsentService, world: World, clock: FrozenClock) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    results = await asyncio.gather(
        consents.withdraw(world.as_alice, given.row.id),
        consents.revoke(world.as_operator, given.row.id),
        return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert isinstance(losers[0], ConcurrentUpdate | IllegalTransition)
    history = await consents.history("default", given.row.id)
    assert len(history) == 3
    assert history[-1].to_state in {"withdrawn", "revoked"}


async def test_hooks_run_inside_the_transaction(
        consents: ConsentService, world: World, clock: FrozenClock, db: Database) -> None:
    seen: list[tuple[str, str]] = []

    async def record(session: AsyncSession, consent: Consent, event: ConsentEvent) -> None:
        stored = (await session.exec(select(Consent.state).where(Consent.id == consent.id))).one()
        seen.append((event.to_state, stored))

    consents.hooks.listeners.append(record)
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    await consents.withdraw(world.as_alice, given.row.id)
    assert seen == [("requested", "requested"), ("active", "active"),
                    ("withdrawn", "withdrawn")]


async def test_a_failing_hook_aborts_the_transition(
        consents: ConsentService, world: World, clock: FrozenClock, db: Database) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))

    async def token_store_down(_s: AsyncSession, _c: Consent, event: ConsentEvent) -> None:
        if event.to_state == "withdrawn":
            raise RuntimeError("token store unavailable")

    consents.hooks.listeners.append(token_store_down)
    before = await row_counts(db)
    with pytest.raises(RuntimeError):
        await consents.withdraw(world.as_alice, given.row.id)
    assert await row_counts(db) == before
    assert (await consents.get("default", given.row.id)).state is ConsentState.ACTIVE


async def test_events_are_append_only(
        consents: ConsentService, world: World, clock: FrozenClock, db: Database) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    async with db.session() as session:
        event = (await session.exec(select(ConsentEvent).where(
            ConsentEvent.consent_id == given.row.id))).first()
        assert event is not None
        event.reason = "rewritten"
        session.add(event)
        with pytest.raises(AppendOnlyError):
            await session.flush()
        await session.rollback()
    async with db.session() as session:
        event = (await session.exec(select(ConsentEvent))).first()
        await session.delete(event)
        with pytest.raises(AppendOnlyError):
            await session.flush()
        await session.rollback()
    assert [e.reason for e in await consents.history("default", given.row.id)] == ["", ""]


async def test_revoke_on_points_stops_consents_of_that_point_only(
        consents: ConsentService, world: World, clock: FrozenClock, db: Database) -> None:
    prm = await consents.give(world.as_alice, world.draft(clock.now()))
    pce = await consents.give(world.as_alice, world.draft(clock.now(), points=[ALICE_PCE]))
    async with db.session() as session:
        events = await consents.revoke_on_points(
            session, Actor.upstream(), {world.points[ALICE_PRM].id},
            reason="upstream authorisation ended")
    assert [e.consent_id for e in events] == [prm.row.id]
    assert (await consents.get("default", prm.row.id)).state is ConsentState.REVOKED
    assert (await consents.get("default", pce.row.id)).state is ConsentState.ACTIVE

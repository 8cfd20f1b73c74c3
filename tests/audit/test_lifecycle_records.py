"""Consent and mandate changes are signed records logged in the change's own transaction, on
both backends: a change without its record, or a record without its change, cannot happen."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import FrozenClock
from consent.errors import DomainError
from consent.evidence.blobs import MemoryBlobStore
from consent.evidence.errors import InvalidRecord
from consent.evidence.events import AccessEvent
from consent.evidence.keystore_db import DatabaseKeyStore
from consent.evidence.lifecycle import LifecycleRecorder
from consent.evidence.log_reader import ENTRY
from consent.evidence.records import Authentication, Notice
from consent.evidence.secrets import Keyring
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence
from consent.evidence.verify import Expectation, verify_bundle
from consent.lifecycle import ActorRole
from consent.models import Consent, ConsentEvent, MandateScope, ProofKind
from consent.services import Actor, ConsentService, MandateDraft, MandateService, ProofUpload
from consent.storage import Database
from consent.vocabulary import Dataset
from tests.support.world import ALICE_PRM, World, build_world

NOTICE = Notice("oauth-consent/1", "ab" * 32, "fr")


@dataclass
class Setup:
    world: World
    evidence: Evidence
    consents: ConsentService
    mandates: MandateService
    clock: FrozenClock

    def household(self, **overrides: object) -> Actor:
        actor = Actor(ActorRole.SUBJECT, party_id=self.world.alice.id,
                      authentication=Authentication("password", "alice", self.clock.now()),
                      notice=NOTICE)
        return replace(actor, **overrides)  # type: ignore[arg-type]

    async def kinds(self) -> list[tuple[str, str | None, int | None]]:
        async with self.evidence.log.db.engine.connect() as conn:
            rows = await conn.execute(sa.select(ENTRY.c.kind, ENTRY.c.chain, ENTRY.c.seq)
                                      .order_by(ENTRY.c.idx))
            return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
async def setup(db: Database, clock: FrozenClock) -> AsyncIterator[Setup]:
    world = await build_world(db, clock)
    evidence = Evidence(db, DatabaseKeyStore(db, Keyring([bytes(range(32))]), clock=clock),
                        MemoryBlobStore(), origin="passerelle.test/evidence", clock=clock)
    await evidence.open_key()
    recorder = LifecycleRecorder(evidence)
    consents, mandates = ConsentService(db, clock), MandateService(db, clock)
    consents.hooks.listeners.append(recorder.consent_changed)
    mandates.hooks.listeners.append(recorder.mandate_changed)
    yield Setup(world, evidence, consents, mandates, clock)
    await evidence.aclose()


async def _verified(evidence: Evidence, selection: Selection,
                    expect: Expectation) -> str:
    out = io.BytesIO()
    await evidence.export(selection, out, actor="test")
    report = verify_bundle(io.BytesIO(out.getvalue()), expect=expect)
    assert report.ok, report.render()
    return report.render()


async def test_each_change_is_a_signed_record(setup: Setup) -> None:
    given = await setup.consents.give(setup.household(), setup.world.draft(setup.clock.now()))
    consent_id = given.row.id
    setup.clock.advance(timedelta(hours=1))
    await setup.consents.revoke(Actor.system(), consent_id, reason="operator decision")
    chain = f"consent:{consent_id}"
    assert await setup.kinds() == [("consent.record", chain, 0), ("consent.record", chain, 1),
                                   ("consent.record", chain, 2)]
    story = await _verified(setup.evidence, Selection(consent_id=consent_id),
                            Expectation(consent_id=consent_id))
    assert "grant -> active by subject via web authenticated by password as alice" in story
    assert "revoke -> revoked by system" in story
    # The history keeps how the household signed in and what it was shown, too.
    async with AsyncSession(setup.evidence.log.db.engine) as session:
        events = (await session.exec(sa.select(ConsentEvent.details)  # type: ignore[call-overload]
                                     .where(ConsentEvent.consent_id == consent_id))).all()
    assert events[1][0]["notice"] == NOTICE.to_json()


async def test_a_change_that_fails_after_its_record_leaves_neither(setup: Setup) -> None:
    given = await setup.consents.give(setup.household(), setup.world.draft(setup.clock.now()))

    async def refuse_withdrawals(_session: object, _row: object, event: ConsentEvent) -> None:
        if event.action == "withdraw":
            raise DomainError("a later listener refuses")

    setup.consents.hooks.listeners.append(refuse_withdrawals)
    with pytest.raises(DomainError, match="later listener"):
        await setup.consents.withdraw(setup.household(), given.row.id)
    assert len(await setup.kinds()) == 2  # the withdrawal's record rolled back with it
    assert (await setup.consents.get("default", given.row.id)).state == "active"
    # The log's cached frontier survived the rollback: the next change appends cleanly.
    await setup.consents.revoke(Actor.system(), given.row.id, reason="operator decision")
    assert [seq for _k, _c, seq in await setup.kinds()] == [0, 1, 2]
    await _verified(setup.evidence, Selection(consent_id=given.row.id),
                    Expectation(consent_id=given.row.id))


async def test_a_household_grant_must_say_how_it_was_authenticated(setup: Setup) -> None:
    draft = setup.world.draft(setup.clock.now())
    with pytest.raises(InvalidRecord, match="authenticated"):
        await setup.consents.give(setup.household(authentication=None), draft)
    with pytest.raises(InvalidRecord, match="consent text"):
        await setup.consents.give(setup.household(notice=None), draft)
    assert await setup.kinds() == []
    async with setup.evidence.log.db.engine.connect() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(
            Consent.__table__))).scalar_one()  # type: ignore[attr-defined]
    assert count == 0


async def test_mandates_are_records_and_a_household_gets_its_own_bundle(setup: Setup) -> None:
    world = setup.world
    cpas = world.actor(world.cpas, ActorRole.MANDATARY)
    requested = await setup.mandates.request(cpas, MandateDraft(
        mandator_id=world.alice.id, mandatary_id=world.cpas.id,
        scope=MandateScope.MANAGE_CONSENTS, points=[ALICE_PRM],
        datasets=[Dataset.DAILY_CONSUMPTION]))
    mandate_id = requested.row.id
    await setup.mandates.attach_proof(cpas, mandate_id, ProofUpload(
        ProofKind.SIGNED_MANDATE, "application/pdf", 1200, "cd" * 32, "blob-mandate"))
    await setup.mandates.submit(cpas, mandate_id)
    await setup.mandates.approve(world.actor(world.reviewer, ActorRole.REVIEWER), mandate_id)
    await setup.consents.give(setup.household(), world.draft(setup.clock.now()))
    chain = f"mandate:{mandate_id}"
    assert [k for k in await setup.kinds() if k[1] == chain] == [
        ("mandate.record", chain, 0), ("mandate.record", chain, 1),
        ("mandate.record", chain, 2)]

    # The mandatary's app reads under the standing mandate, no consent of its own (R11).
    now = setup.clock.now()
    read = AccessEvent(at=now, tenant="default", outcome="served", recipient_id="r-cpas-app",
                       point=str(ALICE_PRM), dataset="daily_consumption",
                       window_start=now - timedelta(days=7), window_end=now,
                       household_id=world.alice.id, mandate_id=mandate_id, resolution="P1D")
    await setup.evidence.access(read)

    out = io.BytesIO()
    result = await setup.evidence.export_for_household(world.alice.id, out, tenant="default",
                                                       actor="household:alice")
    assert result.entries == 6
    assert result.outside_consent == 0
    report = verify_bundle(io.BytesIO(out.getvalue()),
                           expect=Expectation(household_id=world.alice.id))
    # The proof document's bytes are not in the (memory) store: withheld, by hash.
    assert report.ok, report.render()
    assert "Mandate " + mandate_id in report.render()

    # A read of a dataset the mandate does not cover is caught, offline.
    await setup.evidence.access(replace(read, dataset="consumption_load_curve"))
    out = io.BytesIO()
    result = await setup.evidence.export_for_household(world.alice.id, out, tenant="default",
                                                       actor="household:alice")
    assert result.outside_consent == 1
    report = verify_bundle(io.BytesIO(out.getvalue()))
    assert any("dataset consumption_load_curve is not in" in what
               for _where, what in report.problems), report.render()

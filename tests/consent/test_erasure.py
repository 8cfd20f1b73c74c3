"""Erasure of a household (GDPR art. 17, docs/operations.md §8) on both backends: consents and
mandates withdrawn as signed evidence, every way in ended, personal data gone, an admin event
and a journal row; a second run changes nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from consent.clock import FrozenClock
from consent.errors import NotFound
from consent.evidence.events import AdminEvent
from consent.evidence.lifecycle import LifecycleRecorder
from consent.evidence.log_reader import ENTRY
from consent.evidence.records import Authentication, Notice
from consent.external_identities import link_identity
from consent.identity import NO_PASSWORD, issue_reset_code
from consent.lifecycle import ConsentState, MandateState
from consent.models import (
    Account,
    AccountRole,
    BrowserSession,
    ErasureRecord,
    ExternalIdentity,
    OAuthToken,
    Party,
    PasswordReset,
    TokenKind,
)
from consent.services import ConsentService, MandateService
from consent.services import registry as reg
from consent.services.erasure import ERASED_NAME, ErasureService, tombstone
from consent.storage import Database
from consent.tokens import digest, revoke_tokens_of_ended_consent
from tests.consent.test_mandate_service import _active_mandate
from tests.evidence.scenario import evidence_for
from tests.support.world import World


@pytest.fixture
def wired(db: Database, clock: FrozenClock) -> tuple[ErasureService, ConsentService,
                                                     MandateService]:
    """The services wired like the server's: token revocation and signed records."""
    evidence = evidence_for(db, clock)
    recorder = LifecycleRecorder(evidence)
    consents, mandates = ConsentService(db, clock), MandateService(db, clock)
    consents.hooks.listeners += [revoke_tokens_of_ended_consent, recorder.consent_changed]
    mandates.hooks.listeners.append(recorder.mandate_changed)

    async def log_admin(session: Any, event: AdminEvent) -> object:
        return await evidence.admin_in(await session.connection(), event)

    return ErasureService(consents, mandates, clock, log_admin), consents, mandates


async def _entries(db: Database) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(sa.select(ENTRY).order_by(ENTRY.c.idx))).all()
    return [{"kind": r.kind, "payload": json.loads(r.payload)} for r in rows]


async def _alice_with_everything(db: Database, clock: FrozenClock, world: World,
                                 consents: ConsentService, mandates: MandateService
                                 ) -> tuple[Account, list[str]]:
    now = clock.now()
    async with db.session() as s:
        party = await s.get(Party, world.alice.id)
        assert party is not None
        party.email, party.external_ref = "alice@example.org", "85010112345"
        s.add(party)
        account = await reg.add_account(s, tenant_id="default", username="alice.martin",
                                         password="a long test password 2026",
                                         party_id=world.alice.id,
                                         roles=[AccountRole.HOUSEHOLD], now=now)
        link = await link_identity(s, account, "https://fc.example", "fc-alice-0001",
                                   "meter_number", now)
        s.add(BrowserSession(token_hash=digest("cookie"), account_id=account.id,
                             expires_at=now + timedelta(hours=12), auth_method="oidc",
                             external_identity_id=link.id, created_at=now))
        await issue_reset_code(s, account, now, issued_by="cli:olga")
    me = replace(world.as_alice, account_id=account.id,
                 authentication=Authentication("password", account.id, now),
                 notice=Notice("test-terms", "ab" * 32, "en"))
    active = await consents.give(me, world.draft(now))
    pending = await consents.request(world.as_recipient, world.draft(now))
    async with db.session() as s:
        s.add(OAuthToken(kind=TokenKind.ACCESS, token_hash=digest("tok"), family_id="f1",
                         recipient_id=world.recipient.id, account_id=account.id,
                         consent_id=active.row.id, grant_type="authorization_code",
                         scope="daily_consumption", expires_at=now + timedelta(hours=1),
                         created_at=now))
        # A token bound to the account but to no consent: only the erasure itself ends it.
        s.add(OAuthToken(kind=TokenKind.REFRESH, token_hash=digest("tok2"), family_id="f2",
                         recipient_id=world.recipient.id, account_id=account.id,
                         consent_id=None, grant_type="authorization_code",
                         scope="daily_consumption", expires_at=now + timedelta(days=1),
                         created_at=now))
    mandate = await _active_mandate(mandates, world)
    return account, [active.row.id, pending.row.id, mandate.id]


async def test_erasure_ends_everything_keeps_pseudonymous_evidence_and_is_idempotent(
        db: Database, clock: FrozenClock, world: World,
        wired: tuple[ErasureService, ConsentService, MandateService]) -> None:
    erasure, consents, mandates = wired
    account, (active, pending, mandate) = await _alice_with_everything(
        db, clock, world, consents, mandates)
    before = len(await _entries(db))

    outcome = await erasure.erase("default", world.alice.id, actor="cli:olga",
                                  reason="request 2026-117")

    assert set(outcome.consents) == {active, pending}
    assert outcome.mandates == (mandate,)
    assert (outcome.sessions, outcome.tokens, outcome.identities, outcome.reset_codes) == (
        1, 1, 1, 1)
    assert outcome.documents_kept == 1  # the mandate's signed form, cited by its records
    assert (await consents.get("default", active)).state is ConsentState.WITHDRAWN
    assert (await consents.get("default", pending)).state is ConsentState.REFUSED
    assert (await mandates.get("default", mandate)).state is MandateState.WITHDRAWN
    async with db.session() as s:
        erased = await s.get(Account, account.id)
        party = await s.get(Party, world.alice.id)
        assert erased is not None
        assert party is not None
        assert (erased.username, erased.password_hash, erased.disabled) == (
            tombstone(account.id), NO_PASSWORD, True)
        assert (party.name, party.email, party.external_ref) == (ERASED_NAME, None, None)
        for model in (BrowserSession, ExternalIdentity, PasswordReset):
            assert (await s.exec(select(model))).all() == []
        tokens = (await s.exec(select(OAuthToken))).all()
        assert [t.revoked_at for t in tokens] == [clock.now()] * 2  # one by the withdrawal
        [journal] = (await s.exec(select(ErasureRecord))).all()
        assert (journal.household_id, journal.actor) == (world.alice.id, "cli:olga")

    new = (await _entries(db))[before:]
    records = [e["payload"]["record"] for e in new if e["kind"] != "admin"]
    assert sorted(r["action"] for r in records) == ["refuse", "withdraw", "withdraw"]
    assert {r["authentication"]["method"] for r in records} == {"erasure_request"}
    assert {r["actor"]["role"] for r in records} == {"subject"}
    [admin] = [e["payload"] for e in new if e["kind"] == "admin"]
    assert (admin["action"], admin["target"]) == ("household.erased",
                                                  f"household:{world.alice.id}")
    logged = json.dumps([e["payload"] for e in await _entries(db)])
    for personal in ("alice.martin", "fc-alice", "alice@example.org", "85010112345"):
        assert personal not in logged

    again = await erasure.erase("default", world.alice.id, actor="cli:olga")
    assert not again.changed
    assert len(await _entries(db)) == before + len(new)  # no second event
    async with db.session() as s:
        assert len((await s.exec(select(ErasureRecord))).all()) == 1


async def test_only_a_household_of_the_tenant_can_be_erased(
        world: World, wired: tuple[ErasureService, ConsentService, MandateService]) -> None:
    erasure = wired[0]
    with pytest.raises(NotFound):
        await erasure.erase("default", world.operator.id, actor="cli:olga")
    with pytest.raises(NotFound):
        await erasure.erase("other", world.alice.id, actor="cli:olga")
    assert (await erasure.erase("default", world.bob.id, actor="cli:olga")).journalled

"""R19: least privilege per role, staff tokens, two-person approval of privileged actions, and
the journal; R24: tenant creation is one of those actions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent.clock import FrozenClock
from consent.errors import Conflict, DomainError, IllegalTransition, NotFound, NotPermitted
from consent.journal import DENIED, DONE, JournalEntry, StaffJournal
from consent.lifecycle import ActorRole, ConsentState
from consent.models import Account, AccountRole, ApprovalState, PartyKind, Tenant
from consent.services import registry as reg
from consent.services.privileged import PrivilegedService
from consent.services.privileged_actions import ConsentChange, TenantCreation
from consent.services.tenants import create_tenant
from consent.staff import Permission, StaffPrincipal, authenticate_token, issue_token
from consent.storage import Database
from tests.rules.conftest import Rules


async def _account(db: Database, clock: FrozenClock, name: str, *roles: AccountRole,
                   tenant: str = "default", party_id: str | None = None) -> Account:
    async with db.session() as s:
        if party_id is None:
            party_id = (await reg.add_party(s, tenant_id=tenant, kind=PartyKind.PERSON,
                                            name=name, now=clock.now())).id
        return await reg.add_account(s, tenant_id=tenant, username=name, password="pw-" + name,
                                     party_id=party_id, roles=roles, now=clock.now())


def test_least_privilege_table() -> None:
    def principal(*roles: AccountRole) -> StaffPrincipal:
        return StaffPrincipal("a", "p", "default", "u", frozenset(roles))

    support = principal(AccountRole.SUPPORT)
    support.require(Permission.VIEW_CONSENTS)
    for denied in (Permission.REVIEW, Permission.MANAGE_MANDATES, Permission.READ_JOURNAL,
                   Permission.APPROVE_PRIVILEGED):
        with pytest.raises(NotPermitted, match="R19"):
            support.require(denied)
    assert principal(AccountRole.REVIEWER).permissions == {Permission.REVIEW}
    assert principal(AccountRole.AUDITOR).permissions == {Permission.READ_JOURNAL,
                                                          Permission.VIEW_CONSENTS}
    assert Permission.REVIEW not in principal(AccountRole.OPERATOR_ADMIN).permissions
    assert principal(AccountRole.HOUSEHOLD).permissions == frozenset()
    assert principal(AccountRole.REVIEWER).actor(Permission.REVIEW).role is ActorRole.REVIEWER


async def test_staff_tokens(db: Database, clock: FrozenClock,
                            fast_password_hashing: None) -> None:
    support = await _account(db, clock, "sam", AccountRole.SUPPORT)
    household = await _account(db, clock, "hugo", AccountRole.HOUSEHOLD)
    async with db.session() as s:
        raw = await issue_token(s, support, clock.now())
        with pytest.raises(NotPermitted):
            await issue_token(s, household, clock.now())
    async with db.session() as s:
        principal = await authenticate_token(s, raw, clock.now())
        assert principal is not None
        assert principal.roles == {AccountRole.SUPPORT}
        assert await authenticate_token(s, raw + "x", clock.now()) is None
        assert await authenticate_token(s, raw, clock.now() + timedelta(hours=12)) is None
        account = await s.get(Account, support.id)
        assert account is not None
        account.disabled = True
        s.add(account)
    async with db.session() as s:
        assert await authenticate_token(s, raw, clock.now()) is None


async def test_two_people_for_a_privileged_action(rules: Rules, db: Database,
                                                  clock: FrozenClock,
                                                  fast_password_hashing: None) -> None:
    w = rules.world
    consent = await rules.consents.give(w.as_alice, w.draft(clock.now()))
    alex = StaffPrincipal.of(await _account(db, clock, "alex", AccountRole.OPERATOR_ADMIN))
    # Same person, second account: still not a second person.
    alex2 = StaffPrincipal.of(await _account(db, clock, "alex2", AccountRole.OPERATOR_ADMIN,
                                             party_id=alex.party_id))
    olga = StaffPrincipal.of(await _account(db, clock, "olga", AccountRole.OPERATOR_ADMIN))
    rita = StaffPrincipal.of(await _account(db, clock, "rita", AccountRole.REVIEWER))
    service = PrivilegedService(db, clock)
    service.register(ConsentChange(rules.consents))
    service.register(TenantCreation(db, clock))

    asked = await service.request(alex, "consent_change",
                                  {"consent_id": consent.row.id, "action": "revoke"},
                                  "household called the contact centre")
    assert asked.state is ApprovalState.PENDING
    assert (await rules.consents.get("default", consent.row.id)).state is ConsentState.ACTIVE
    for same_person in (alex, alex2):
        with pytest.raises(NotPermitted, match="R19"):
            await service.approve(same_person, asked.id)
    with pytest.raises(NotPermitted, match="R19"):  # a reviewer does not approve these
        await service.approve(rita, asked.id)
    done = await service.approve(olga, asked.id)
    assert done.state is ApprovalState.EXECUTED
    assert done.decided_by == olga.account_id
    assert done.outcome["state"] == "revoked"
    [*_, event] = await rules.consents.history("default", consent.row.id)
    assert event.actor_role is ActorRole.OPERATOR
    assert event.actor_account_id == alex.account_id
    assert "approved by olga" in event.reason
    with pytest.raises(IllegalTransition):  # decided once
        await service.approve(olga, asked.id)

    tenant = await service.request(alex, "create_tenant", {"tenant_id": "wallonie",
                                                           "name": "Wallonie"}, "new region")
    rejected = await service.reject(olga, tenant.id)
    assert rejected.state is ApprovalState.REJECTED
    async with db.session() as s:
        assert await s.get(Tenant, "wallonie") is None
    tenant = await service.request(alex, "create_tenant", {"tenant_id": "wallonie",
                                                           "name": "Wallonie"}, "new region")
    assert (await service.approve(olga, tenant.id)).outcome == {"tenant_id": "wallonie"}
    with pytest.raises(Conflict):
        await service.request(alex, "create_tenant", {"tenant_id": "wallonie", "name": "W"},
                              "again")
    assert [r.kind for r in await service.requests("default", pending_only=True)] == []


async def test_privileged_requests_are_checked_when_asked(rules: Rules, db: Database,
                                                          clock: FrozenClock,
                                                          fast_password_hashing: None) -> None:
    async with db.session() as s:
        await create_tenant(s, "flandre", "Flandre", clock.now())
    alex = StaffPrincipal.of(await _account(db, clock, "alex", AccountRole.OPERATOR_ADMIN))
    flemish = StaffPrincipal.of(await _account(db, clock, "fien", AccountRole.OPERATOR_ADMIN,
                                               tenant="flandre"))
    support = StaffPrincipal.of(await _account(db, clock, "sam", AccountRole.SUPPORT))
    service = PrivilegedService(db, clock)
    service.register(ConsentChange(rules.consents))
    service.register(TenantCreation(db, clock))
    consent = await rules.consents.give(rules.world.as_alice, rules.world.draft(clock.now()))
    with pytest.raises(NotPermitted, match="R19"):
        await service.request(support, "consent_change", {}, "x")
    with pytest.raises(DomainError, match="Unknown"):
        await service.request(alex, "format_disk", {}, "x")
    with pytest.raises(DomainError, match="not available"):
        await service.request(alex, "rotate_key", {"key": "web"}, "x")
    with pytest.raises(DomainError, match="Say why"):
        await service.request(alex, "create_tenant", {"tenant_id": "ab", "name": "A"}, " ")
    with pytest.raises(DomainError, match="tenant id"):
        await service.request(alex, "create_tenant", {"tenant_id": "A B", "name": "A"}, "x")
    with pytest.raises(NotPermitted, match="platform"):
        await service.request(flemish, "create_tenant", {"tenant_id": "ab", "name": "A"}, "x")
    with pytest.raises(NotFound):  # another tenant's consent does not exist for Flanders
        await service.request(flemish, "consent_change",
                              {"consent_id": consent.row.id, "action": "revoke"}, "x")
    with pytest.raises(DomainError, match="revoke, suspend or resume"):
        await service.request(alex, "consent_change",
                              {"consent_id": consent.row.id, "action": "delete"}, "x")


async def test_the_journal_keeps_refusals(db: Database, clock: FrozenClock) -> None:
    journal = StaffJournal(db)
    seen: list[JournalEntry] = []

    async def sink(entry: JournalEntry) -> None:
        seen.append(entry)

    journal.sinks.append(sink)
    await journal.record(JournalEntry("default", clock.now(), "mandate.approve", DENIED,
                                      account_id="a1", roles=("reviewer",), target="m1",
                                      detail="R19"))
    await journal.record(JournalEntry("default", clock.now(), "mandate.approve", DONE,
                                      target="m1"))
    entries = await journal.entries("default")
    assert [(e.outcome, e.target, e.detail) for e in entries] == [(DENIED, "m1", "R19"),
                                                                  (DONE, "m1", "")]
    assert len(seen) == 2
    assert await journal.entries("other") == []

"""Registering parties, accounts, recipients, points and occupancies: validation and errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from consent import external_identities, identity
from consent.accounts import verify_password
from consent.client_secrets import verify_client_secret
from consent.clock import FrozenClock
from consent.errors import Conflict, DomainError, InvalidPeriod, UnknownVocabulary
from consent.identifiers import PointRef
from consent.models import DEFAULT_TENANT, AccountRole, PartyKind
from consent.services import registry as reg
from consent.services.tenants import create_tenant
from consent.storage import Database
from consent.vocabulary import Direction, Energy
from tests.support.world import ALICE_PRM, World

RECIPIENT = reg.RecipientDraft(
    name="App", website="https://app.example", contact_email="a@app.example",
    purposes=["energy_monitoring"], legal_basis="consent", data_role="controller",
    allowed_datasets=["daily_consumption"], redirect_uris=["https://app.example/cb"])


@pytest.mark.parametrize("uri", [
    "https://app.example/cb", "http://127.0.0.1:8000/cb", "http://localhost/cb",
])
def test_acceptable_redirect_uris(uri: str) -> None:
    assert reg.check_redirect_uri(uri) == uri


@pytest.mark.parametrize("uri", [
    "http://app.example/cb", "https://app.example/cb#frag", "/cb", "app://cb", "https://",
    "https://app.example/cb#",  # an empty fragment is a fragment still (RFC 6749 §3.1.2)
])
def test_refused_redirect_uris(uri: str) -> None:
    with pytest.raises(DomainError):
        reg.check_redirect_uri(uri)


@pytest.mark.parametrize("uri", [
    "https://[::1/cb", "https://app.example:99999/cb", "https://app.example/cb\n",
    "https://app.example/c b", "https://app.example:0/cb",
])
def test_malformed_redirect_uris_are_domain_errors(uri: str) -> None:
    """Review 15d: the first was a 500 on POST /admin/recipients (urlsplit's ValueError); the
    others were stored (a port beyond 65535, a newline urlsplit drops silently)."""
    with pytest.raises(DomainError):
        reg.check_redirect_uri(uri)


@pytest.mark.parametrize(("change", "field"), [
    ({"website": "javascript:alert(1)"}, "website"),  # rendered as <a href> on /register
    ({"logo_url": "data:image/svg+xml,<svg/>"}, "logo_url"),
    ({"contact_email": "not an address"}, "contact_email"),
])
async def test_a_recipient_website_logo_and_address_are_checked(
        db: Database, clock: FrozenClock, change: dict[str, str], field: str) -> None:
    """Review 15d: a ``javascript:`` website, any logo URL and any contact string were
    stored as given."""
    async with db.session() as session:
        with pytest.raises(DomainError) as refused:
            await reg.register_recipient(session, replace(RECIPIENT, **change),
                                         tenant_id=DEFAULT_TENANT, now=clock.now())
    assert refused.value.extra["field"] == field


async def test_purposes_datasets_and_uris_given_twice_are_kept_once(
        db: Database, clock: FrozenClock) -> None:
    """Review 15d: duplicates were kept (and shown twice on the register and consent page)."""
    draft = replace(RECIPIENT, purposes=["energy_monitoring"] * 2,
                    allowed_datasets=["daily_consumption"] * 2,
                    redirect_uris=["https://app.example/cb"] * 2)
    async with db.session() as session:
        recipient, _ = await reg.register_recipient(session, draft, tenant_id=DEFAULT_TENANT,
                                                    now=clock.now())
    assert recipient.purposes == ["energy_monitoring"]
    assert recipient.allowed_datasets == ["daily_consumption"]
    assert recipient.redirect_uris == ["https://app.example/cb"]


async def test_register_recipient_stores_only_the_secret_hash(db: Database,
                                                             clock: FrozenClock) -> None:
    async with db.session() as session:
        recipient, secret = await reg.register_recipient(session, RECIPIENT, tenant_id="default",
                                                         now=clock.now())
    assert secret not in (recipient.client_secret_hash or "")
    assert verify_client_secret(recipient.client_secret_hash or "", secret)
    assert recipient.client_id.startswith("pc_")
    with pytest.raises(UnknownVocabulary):
        async with db.session() as session:
            await reg.register_recipient(
                session, replace(RECIPIENT, purposes=["spying"]),
                tenant_id="default", now=clock.now())


async def test_accounts_hash_passwords_and_keep_usernames_unique(
        db: Database, world: World, clock: FrozenClock) -> None:
    async with db.session() as session:
        account = await reg.add_account(session, tenant_id="default", username="alice",
                                        password="s3cret-pass", party_id=world.alice.id,
                                        roles=[AccountRole.HOUSEHOLD], now=clock.now())
    assert verify_password(account.password_hash, "s3cret-pass")
    assert account.has_role(AccountRole.HOUSEHOLD)
    assert not account.has_role(AccountRole.AUDITOR)
    with pytest.raises(Conflict):
        async with db.session() as session:
            await reg.add_account(session, tenant_id="default", username="alice",
                                  password="other-pass", party_id=world.bob.id,
                                  roles=["household"], now=clock.now())
    with pytest.raises(DomainError):
        async with db.session() as session:
            await reg.add_account(session, tenant_id="default", username="a b", password="x",
                                  party_id=world.bob.id, roles=["household"], now=clock.now())


async def test_points_are_unique_and_consistent_with_their_source(
        db: Database, world: World, clock: FrozenClock) -> None:
    now = clock.now()
    cases = [
        (dict(ref=ALICE_PRM, energy=Energy.ELECTRICITY, directions=[Direction.CONSUMPTION]),
         Conflict),
        (dict(ref=PointRef.parse("enedis:11111111111111"), energy=Energy.GAS,
              directions=[Direction.CONSUMPTION]), DomainError),
        (dict(ref=PointRef.parse("grdf:GI111111"), energy=Energy.GAS,
              directions=[Direction.PRODUCTION]), DomainError),
        (dict(ref=PointRef.parse("grdf:GI111111"), energy=Energy.GAS, directions=[]),
         DomainError),
        (dict(ref=PointRef.parse("grdf:GI111111"), energy=Energy.GAS,
              directions=[Direction.CONSUMPTION], timezone="Mars/Olympus"), DomainError),
    ]
    for kwargs, error in cases:
        with pytest.raises(error):
            async with db.session() as session:
                await reg.add_point(session, tenant_id="default", now=now,
                                    **kwargs)  # type: ignore[arg-type]
    async with db.session() as session:
        point = await reg.add_point(session, tenant_id="default", now=now,
                                    ref=PointRef.parse("inhouse:541449200000004562"),
                                    energy=Energy.GAS, directions=[Direction.CONSUMPTION])
    assert point.timezone == "Europe/Brussels"
    assert point.ref == PointRef.parse("inhouse:541449200000004562")


async def test_occupancies_of_a_point_do_not_overlap(
        db: Database, world: World, clock: FrozenClock) -> None:
    point = world.points[ALICE_PRM]
    now = clock.now()
    with pytest.raises(InvalidPeriod, match="overlaps"):
        async with db.session() as session:
            await reg.add_occupancy(session, tenant_id="default", point_id=point.id,
                                    household_id=world.bob.id, starts_at=now, ends_at=None,
                                    now=now)
    with pytest.raises(InvalidPeriod):
        async with db.session() as session:
            await reg.add_occupancy(session, tenant_id="default", point_id=point.id,
                                    household_id=world.bob.id, starts_at=now,
                                    ends_at=now - timedelta(days=1), now=now)
    async with db.session() as session:  # before Alice's move-in: fine (half-open periods)
        occupancy = await reg.add_occupancy(
            session, tenant_id="default", point_id=point.id, household_id=world.bob.id,
            starts_at=world.moved_in - timedelta(days=100), ends_at=world.moved_in, now=now)
    assert occupancy.period.end == world.moved_in


async def test_a_party_needs_a_name(db: Database, clock: FrozenClock) -> None:
    with pytest.raises(DomainError):
        async with db.session() as session:
            await reg.add_party(session, tenant_id="default", kind=PartyKind.PERSON, name="  ",
                                now=clock.now())


# Review 2: a unique key checked then inserted by requests at once: the losers' IntegrityError
# at flush was a 500; it is the same 409 Conflict as a sequential duplicate, nothing written.
async def test_the_same_key_written_at_once_is_one_row_and_conflicts(
        db: Database, world: World, clock: FrozenClock) -> None:
    now = clock.now()
    async with db.session() as session:
        bobs = await identity.household_account(session, "default", world.bob.id, now)
    writes: dict[str, Callable[[AsyncSession], Awaitable[object]]] = {
        # Review 3: two tabs finishing the same first OpenID sign-in.
        "identity": lambda s: external_identities.link_identity(
            s, bobs, "https://fc.example", "sub-1", "meter_number", now),
        "tenant": lambda s: create_tenant(s, "twice", "Twice", now),
        "account": lambda s: reg.add_account(s, tenant_id="default", username="twice",
                                             password="s3cret-pass", party_id=world.bob.id,
                                             roles=["household"], now=now),
        "point": lambda s: reg.add_point(s, tenant_id="default", now=now,
                                         ref=PointRef.parse("grdf:GI222222"),
                                         energy=Energy.GAS, directions=[Direction.CONSUMPTION]),
    }

    async def attempt(write: Callable[[AsyncSession], Awaitable[object]]) -> str:
        try:
            async with db.session() as session:
                await write(session)
        except Conflict:
            return "conflict"
        return "written"

    for name, write in writes.items():
        outcomes = await asyncio.gather(*(attempt(write) for _ in range(4)))
        assert sorted(outcomes) == ["conflict"] * 3 + ["written"], name

"""A running Passerelle with two tenants, for the market-rule and tenant-isolation tests.

Tenant ``default``:

- six households ``h0``..``h5`` with one Enedis point each, members of a collective
  self-consumption community run by the app ``pmo``, each with its own consent to it (R4);
- household ``h6`` (two points) assisted by the CPAS, which holds a standing mandate on its
  first point and reads it through its app ``cpas`` (R10, R11);
- the supplier app ``volt`` holds the supply contract of ``h1``'s point, whose contract record
  carries payment-difficulty signals (R13); ``h1`` consented to it;
- the app ``relative`` is registered for a relative of ``h2`` (a person party) (R10);
- staff: ``alex`` and ``olga`` (operator admins), ``rita`` (reviewer), ``sam`` (support),
  ``aude`` (auditor), ``marc`` (a CPAS social worker, mandatary role), ``owen`` (admin and
  reviewer at once, for self-approval attempts).

Tenant ``other``: household ``bea`` with one point and a consent to its app ``elsewhere``;
staff ``otto`` (operator admin) and ``rolf`` (reviewer).

Households ``h0`` and ``bea`` can sign in (password ``pw-<name>``).

Everything is written through the registry and the services; tokens (OAuth and staff) are
minted directly, as the servers store them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer, unused_port

from adapters.simulator import ContractTerms, Occupant, Simulator, SimulatorAdapter, derive_profile
from consent.access_events import ACCESS_EVENT_TABLE
from consent.clock import FrozenClock
from consent.evidence.secrets import ENV_VAR
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole
from consent.logins import find_account
from consent.models import AccountRole, MandateScope, OAuthToken, PartyKind, new_id
from consent.models.oauth import TokenKind
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import Actor, ConsentDraft, ConsentService, MandateDraft, MandateService
from consent.services import registry as reg
from consent.services.communities import CommunityService
from consent.services.supply import SupplyService
from consent.services.tenants import create_tenant
from consent.staff import issue_token
from consent.storage import Database
from consent.tokens import ACCESS_PREFIX, digest, new_secret
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Direction, Energy, Resolution
from proxy.app import create_app
from proxy.keys import database_key
from proxy.settings import Settings
from tests.support.databases import PostgresFactory

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MOVE_IN = date(2025, 1, 6)
POINTS = [PointRef(Source.ENEDIS, f"225169147{n:05d}") for n in range(8)]
BEA_POINT = PointRef(Source.ENEDIS, "30001610071843")
PAYMENT_SIGNALS = ContractTerms("Volt", contract_status="DEFAUT_PAIEMENT",
                                meter_type="compteur à budget")
WINDOW = {"start": "2026-11-01", "end": "2026-11-08"}


def midnight(day: date) -> datetime:
    """Local midnight in Paris."""
    return datetime.combine(day, datetime.min.time(), tzinfo=PARIS)


@dataclass
class RulesWorld:
    """The running app and the ids a test needs."""

    client: TestClient[Any, Any]
    clock: FrozenClock
    db: Database
    parties: dict[str, str] = field(default_factory=dict)  # name -> party id
    apps: dict[str, str] = field(default_factory=dict)  # name -> recipient id
    clients: dict[str, tuple[str, str]] = field(default_factory=dict)  # client id, secret
    consents: dict[str, str] = field(default_factory=dict)  # name -> consent id
    tokens: dict[str, str] = field(default_factory=dict)  # app or staff name -> token
    community_id: str = ""
    mandate_id: str = ""

    async def call(self, method: str, path: str, token: str | None = None, *,
                   json_body: Any = None, data: bytes | None = None,
                   content_type: str | None = None,
                   params: dict[str, str] | None = None) -> tuple[int, Any]:
        """One request with a bearer token; the status and the decoded body."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content_type:
            headers["Content-Type"] = content_type
        async with self.client.request(method, path, params=params or {}, headers=headers,
                                       json=json_body, data=data) as response:
            raw = await response.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            return response.status, body

    async def relogin(self, who: str) -> None:
        """A fresh staff token for ``who`` (after the clock moved past the old one's life)."""
        async with self.db.session() as s:
            account = await find_account(s, who, "other" if who in ("otto", "rolf")
                                         else "default")
            assert account is not None
            self.tokens[who] = await issue_token(s, account, self.clock.now())

    async def staff(self, who: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """A staff API call as ``who``."""
        return await self.call(method, path, self.tokens[who], **kwargs)

    async def read(self, app: str, point: PointRef, dataset: str = "daily_consumption",
                   **params: str) -> tuple[int, Any]:
        """A native API read of ``point`` by ``app`` (app-wide token)."""
        query = dict(WINDOW) if Dataset(dataset).spec.is_series else {}
        query.update(params)
        return await self.call("GET", f"/api/v1/points/{point}/datasets/{dataset}",
                               self.tokens[app], params=query)

    async def events(self) -> list[dict[str, Any]]:
        """Every access event, oldest first."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(sa.select(ACCESS_EVENT_TABLE)
                                      .order_by(ACCESS_EVENT_TABLE.c.at))
            return [dict(r._mapping) for r in rows]

    def actor(self, name: str, role: ActorRole = ActorRole.SUBJECT) -> Actor:
        """A domain actor for the party ``name`` (the household itself by default)."""
        return Actor(role, party_id=self.parties[name])


def _profiles() -> list[Any]:
    occupant = Occupant("C1", date(2024, 1, 1), None, firstname="Ana", lastname="Member")
    profiles = [derive_profile(p, commissioned=date(2017, 1, 1), occupants=(occupant,))
                for p in (*POINTS, BEA_POINT)]
    profiles[1] = derive_profile(POINTS[1], commissioned=date(2017, 1, 1),
                                 occupants=(occupant,), contract=PAYMENT_SIGNALS)
    return profiles


async def start_replica(database_url: str, data_dir: Path,
                        clock: FrozenClock) -> TestClient[Any, Any]:
    """One running app (a replica) on ``database_url``, with its own data directory."""
    adapter = SimulatorAdapter(Simulator(clock, _profiles()), timeout=0.3)
    port = unused_port()
    settings = Settings(data_dir=data_dir, database_url=database_url, host="127.0.0.1",
                        port=port, recipient_rate=1000.0, recipient_burst=1000)
    app = create_app(settings, clock=clock, adapters={s: adapter for s in Source})
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    return client


@asynccontextmanager
async def two_replicas(postgres_factory: PostgresFactory, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[
                           tuple[RulesWorld, RulesWorld]]:
    """The world on two replicas of one new PostgreSQL database (the second sharing the
    first's world and clock), each with its own data directory: replicas share their secrets
    (docs/operations.md, section 3), never a directory."""
    monkeypatch.setenv(ENV_VAR, base64.b64encode(bytes(range(32))).decode())
    url = postgres_factory.create()
    a = await build(url, tmp_path / "replica-a")
    try:
        b = replace(a, client=await start_replica(url, tmp_path / "replica-b", a.clock))
        try:
            yield a, b
        finally:
            await b.client.close()
    finally:
        await a.client.close()
        postgres_factory.drop(url)


async def build(database_url: str, data_dir: Path) -> RulesWorld:
    """Start the app and seed the world of the module docstring."""
    clock = FrozenClock(T0)
    client = await start_replica(database_url, data_dir, clock)
    world = RulesWorld(client, clock, client.app[database_key])
    await _seed(world)
    return world


async def _household(world: RulesWorld, s: Any, name: str, points: list[PointRef],
                     tenant: str = "default") -> None:
    now = world.clock.now()
    party = await reg.add_party(s, tenant_id=tenant, kind=PartyKind.HOUSEHOLD, name=name,
                                now=now)
    world.parties[name] = party.id
    for ref in points:
        point = await reg.add_point(s, tenant_id=tenant, ref=ref, energy=Energy.ELECTRICITY,
                                    directions=[Direction.CONSUMPTION], now=now)
        await reg.add_occupancy(s, tenant_id=tenant, point_id=point.id, household_id=party.id,
                                starts_at=midnight(MOVE_IN), ends_at=None, now=now)
        await reg.add_upstream_authorisation(
            s, tenant_id=tenant, point=point, upstream_id=f"DC-{ref.identifier}",
            valid_from=midnight(MOVE_IN), valid_until=None, state=UpstreamState.ACTIVE,
            now=now, household_id=party.id)


async def _app(world: RulesWorld, s: Any, name: str, purposes: list[Purpose],
               datasets: list[Dataset], tenant: str = "default", **extra: Any) -> None:
    recipient, secret = await reg.register_recipient(s, reg.RecipientDraft(
        name=name, website=f"https://{name}.example", contact_email=f"dpo@{name}.example",
        purposes=purposes, legal_basis=LegalBasis.CONSENT, data_role=DataRole.CONTROLLER,
        allowed_datasets=datasets, redirect_uris=[f"https://{name}.example/cb"], **extra),
        tenant_id=tenant, now=world.clock.now())
    world.apps[name] = recipient.id
    world.clients[name] = (recipient.client_id, secret)
    raw = new_secret(ACCESS_PREFIX)
    s.add(OAuthToken(tenant_id=tenant, kind=TokenKind.ACCESS, token_hash=digest(raw),
                     family_id=new_id(), recipient_id=recipient.id, consent_id=None,
                     grant_type="client_credentials", scope=" ".join(d.value for d in datasets),
                     expires_at=world.clock.now() + timedelta(days=60),
                     created_at=world.clock.now()))
    world.tokens[name] = raw


async def _staff(world: RulesWorld, s: Any, name: str, *roles: AccountRole,
                 tenant: str = "default", member_of: str | None = None) -> None:
    now = world.clock.now()
    person = await reg.add_party(s, tenant_id=tenant, kind=PartyKind.PERSON, name=name,
                                 member_of_id=member_of, now=now)
    world.parties[name] = person.id
    account = await reg.add_account(s, tenant_id=tenant, username=name, password=f"pw-{name}",
                                    party_id=person.id, roles=roles, now=now)
    world.tokens[name] = await issue_token(s, account, now)


async def _seed(world: RulesWorld) -> None:
    now = world.clock.now()
    daily = [Dataset.DAILY_CONSUMPTION]
    async with world.db.session() as s:
        await create_tenant(s, "other", "Autre région", now)
        for n in range(6):
            await _household(world, s, f"h{n}", [POINTS[n]])
        await _household(world, s, "h6", [POINTS[6], POINTS[7]])
        await _household(world, s, "bea", [BEA_POINT], tenant="other")
        for name, tenant in (("h0", "default"), ("bea", "other")):
            await reg.add_account(s, tenant_id=tenant, username=name, password=f"pw-{name}",
                                  party_id=world.parties[name], roles=[AccountRole.HOUSEHOLD],
                                  now=now)
        cpas = await reg.add_party(s, tenant_id="default", kind=PartyKind.SOCIAL_SERVICES,
                                   name="CPAS de Namur", now=now)
        relative = await reg.add_party(s, tenant_id="default", kind=PartyKind.PERSON,
                                       name="Relative of h2", now=now)
        world.parties.update(cpas=cpas.id, relative=relative.id)
        await _app(world, s, "pmo", [Purpose.COLLECTIVE_SELF_CONSUMPTION],
                   [*daily, Dataset.DAILY_MAX_POWER])
        await _app(world, s, "cpas", [Purpose.SOCIAL_SUPPORT], [*daily, Dataset.CONTRACT],
                   party_id=cpas.id)
        await _app(world, s, "volt", [Purpose.SUPPLY_CONTRACT], [*daily, Dataset.CONTRACT],
                   is_supplier=True, supplier_code="VOLT-1")
        await _app(world, s, "relative", [Purpose.ENERGY_ADVICE], daily, party_id=relative.id)
        await _app(world, s, "elsewhere", [Purpose.ENERGY_MONITORING], daily, tenant="other")
        for name, roles in (("alex", [AccountRole.OPERATOR_ADMIN]),
                            ("olga", [AccountRole.OPERATOR_ADMIN]),
                            ("rita", [AccountRole.REVIEWER]), ("sam", [AccountRole.SUPPORT]),
                            ("aude", [AccountRole.AUDITOR]),
                            ("owen", [AccountRole.OPERATOR_ADMIN, AccountRole.REVIEWER])):
            await _staff(world, s, name, *roles)
        await _staff(world, s, "marc", AccountRole.MANDATARY, member_of=cpas.id)
        await _staff(world, s, "otto", AccountRole.OPERATOR_ADMIN, tenant="other")
        await _staff(world, s, "rolf", AccountRole.REVIEWER, tenant="other")
    consents = ConsentService(world.db, world.clock)
    until = now + timedelta(days=300)

    async def give(household: str, app: str, point: PointRef, datasets: list[Dataset],
                   purpose: Purpose, tenant: str = "default") -> str:
        actor = Actor(ActorRole.SUBJECT, party_id=world.parties[household], tenant_id=tenant)
        given = await consents.give(actor, ConsentDraft(
            grantor_id=world.parties[household], recipient_id=world.apps[app], points=[point],
            datasets=datasets, purpose=purpose, valid_until=until,
            max_resolution=Resolution.P1D, history_days=365))
        return given.row.id

    for n in range(6):
        world.consents[f"h{n}-pmo"] = await give(f"h{n}", "pmo", POINTS[n], daily,
                                                 Purpose.COLLECTIVE_SELF_CONSUMPTION)
    world.consents["h1-volt"] = await give("h1", "volt", POINTS[1], [*daily, Dataset.CONTRACT],
                                           Purpose.SUPPLY_CONTRACT)
    world.consents["bea"] = await give("bea", "elsewhere", BEA_POINT, daily,
                                       Purpose.ENERGY_MONITORING, tenant="other")
    await SupplyService(world.db, world.clock).report(Actor.upstream(), POINTS[1], "VOLT-1",
                                                      midnight(MOVE_IN))
    mandates = MandateService(world.db, world.clock)
    standing = await mandates.give(world.actor("h6"), MandateDraft(
        world.parties["h6"], world.parties["cpas"], MandateScope.BOTH, [POINTS[6]],
        [*daily, Dataset.CONTRACT]))
    world.mandate_id = standing.row.id
    communities = CommunityService(world.db, world.clock)
    operator = Actor(ActorRole.OPERATOR, party_id=world.parties["alex"])
    community = await communities.create(operator, name="Soleil partagé",
                                         organiser_id=world.apps["pmo"])
    world.community_id = community.id
    for n in range(6):
        await communities.add_member(operator, community.id, world.parties[f"h{n}"], POINTS[n])

"""A running Passerelle for the household portal: two households, their points, two apps.

Everything is real: ``create_app`` on a migrated database, the built-in simulator as the DSO
(its customers and move-ins match the database's occupancies, so reads through Passerelle work),
consents given through the consent service. Used by the HTTP tests and the browser suite.

- Alice occupies :data:`ALICE_PRM` (electricity, consumption and production) and
  :data:`ALICE_PCE` (gas) since :data:`MOVE_IN`; the previous occupant of the PRM is Paul;
- Bob occupies :data:`BOB_PRM`;
- app ``Watt Coach`` (consent-bound and app-wide tokens) holds a consent of Alice on her PRM
  (daily consumption and the load curve at 30 min) and one of Bob; ``Soleil`` holds one of
  Alice (daily production).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from adapters.simulator import Occupant, Simulator, SimulatorAdapter, derive_profile
from consent.clock import FrozenClock
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole
from consent.models import AccountRole, OAuthToken, PartyKind
from consent.models.base import new_id
from consent.models.oauth import TokenKind
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import registry
from consent.services.base import Actor
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService
from consent.storage import Database
from consent.tokens import ACCESS_PREFIX, digest, new_secret
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Direction, Energy, Resolution
from proxy.app import create_app
from proxy.keys import database_key
from proxy.settings import Settings

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MOVE_IN = date(2024, 3, 1)
ALICE_PRM = PointRef(Source.ENEDIS, "22516914714270")
ALICE_PCE = PointRef(Source.GRDF, "19112233445566")
BOB_PRM = PointRef(Source.ENEDIS, "24134785609130")
FREE_PRM = PointRef(Source.ENEDIS, "30001610071843")  # nobody here knows it yet
PASSWORD = "alice-portal-password"
BOB_PASSWORD = "bob-portal-password"
APP_REDIRECT = "http://127.0.0.1:8765/callback"


def profiles() -> list[Any]:
    """The simulator's customers, matching the database's occupancies."""
    def one(ref: PointRef, customer: str, since: date, **extra: Any) -> Any:
        return derive_profile(ref, commissioned=date(2017, 1, 1), occupants=(
            Occupant(f"{customer}0", date(2018, 1, 1), since, "M.", "Paul", "Petit"),
            Occupant(customer, since, None, "Mme", "Alice", "Martin", "alice@example.org")),
            **extra)

    return [one(ALICE_PRM, "C1", MOVE_IN, has_production=True, timezone="Europe/Paris"),
            one(ALICE_PCE, "C2", MOVE_IN),
            one(BOB_PRM, "C3", date(2022, 5, 1)),
            one(FREE_PRM, "C4", date(2025, 9, 1))]


@dataclass
class Portal:
    """A started instance and the ids a test needs."""

    url: str
    app: web.Application
    db: Database
    clock: FrozenClock
    simulator: Simulator
    ids: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    def meter_number(self, ref: PointRef) -> str:
        """What is printed on the meter of ``ref`` (only its occupant can read it)."""
        return self.simulator.profile(ref).printed_number

    async def token(self, app: str, consent: str | None = None,
                    scope: str = "daily_consumption consumption_load_curve daily_production",
                    ) -> str:
        """A fresh access token of ``app``: app-wide, or bound to the consent named
        ``consent`` (as the OAuth server stores them; the issuance itself is tested there)."""
        raw = new_secret(ACCESS_PREFIX)
        now = self.clock.now()
        async with self.db.session() as session:
            session.add(OAuthToken(
                tenant_id="default", kind=TokenKind.ACCESS, token_hash=digest(raw),
                family_id=new_id(), recipient_id=self.ids[app],
                consent_id=self.ids[consent] if consent else None,
                grant_type="authorization_code" if consent else "client_credentials",
                scope=scope, expires_at=now + timedelta(hours=1), created_at=now))
        return raw

    async def read(self, token: str, ref: PointRef = ALICE_PRM,
                   dataset: str = "daily_consumption") -> int:
        """The status of one native-API read of the last week of ``dataset`` of ``ref``."""
        import aiohttp

        today = self.clock.now().date()
        params = {"start": (today - timedelta(days=7)).isoformat(), "end": today.isoformat()}
        async with aiohttp.ClientSession() as http, http.get(
                f"{self.url}/api/v1/points/{ref}/datasets/{dataset}", params=params,
                headers={"Authorization": f"Bearer {token}"}) as response:
            await response.read()
            return response.status


def midnight(day: date) -> datetime:
    """Local midnight in Paris, as an aware instant."""
    from zoneinfo import ZoneInfo

    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo("Europe/Paris"))


async def seed(portal: Portal) -> None:
    """Write the world of the module docstring."""
    now = portal.clock.now()
    ids = portal.ids
    async with portal.db.session() as session:
        for key, name, password in (("alice", "Alice Martin", PASSWORD),
                                    ("bob", "Bob Durand", BOB_PASSWORD)):
            party = await registry.add_party(session, tenant_id="default",
                                             kind=PartyKind.HOUSEHOLD, name=name, now=now)
            account = await registry.add_account(
                session, tenant_id="default", username=key, password=password,
                party_id=party.id, roles=[AccountRole.HOUSEHOLD], now=now)
            ids[key], ids[f"{key}_account"] = party.id, account.id
        paul = await registry.add_party(session, tenant_id="default", kind=PartyKind.HOUSEHOLD,
                                        name="Paul Petit", now=now)
        ids["paul"] = paul.id
        cpas = await registry.add_party(session, tenant_id="default",
                                        kind=PartyKind.SOCIAL_SERVICES, name="CPAS de Namur",
                                        now=now)
        ids["cpas"] = cpas.id
        staff = await registry.add_party(session, tenant_id="default", kind=PartyKind.PERSON,
                                         name="Rita Review", now=now)
        await registry.add_account(session, tenant_id="default", username="reviewer",
                                   password=BOB_PASSWORD, party_id=staff.id,
                                   roles=[AccountRole.REVIEWER], now=now)
        for ref, owner, since, energy, directions in (
                (ALICE_PRM, "alice", MOVE_IN, Energy.ELECTRICITY,
                 [Direction.CONSUMPTION, Direction.PRODUCTION]),
                (ALICE_PCE, "alice", MOVE_IN, Energy.GAS, [Direction.CONSUMPTION]),
                (BOB_PRM, "bob", date(2022, 5, 1), Energy.ELECTRICITY,
                 [Direction.CONSUMPTION])):
            point = await registry.add_point(session, tenant_id="default", ref=ref,
                                             energy=energy, directions=directions, now=now)
            ids[str(ref)] = point.id
            if ref == ALICE_PRM:
                await registry.add_occupancy(session, tenant_id="default", point_id=point.id,
                                             household_id=paul.id,
                                             starts_at=midnight(date(2018, 1, 1)),
                                             ends_at=midnight(since), now=now)
            await registry.add_occupancy(session, tenant_id="default", point_id=point.id,
                                         household_id=ids[owner], starts_at=midnight(since),
                                         ends_at=None, now=now)
            await registry.add_upstream_authorisation(
                session, tenant_id="default", point=point, upstream_id=f"UP-{ref.identifier}",
                valid_from=midnight(since), valid_until=midnight(date(2029, 1, 1)),
                state=UpstreamState.ACTIVE, now=now, household_id=ids[owner])
        for key, name, purposes, redirect in (
                ("coach", "Watt Coach", [Purpose.ENERGY_MONITORING, Purpose.ENERGY_ADVICE],
                 APP_REDIRECT),
                ("soleil", "Soleil", [Purpose.SOLAR_ASSESSMENT],
                 "http://127.0.0.1:8766/callback")):
            recipient, secret = await registry.register_recipient(session, registry.RecipientDraft(
                name=name, website=f"https://{key}.example", contact_email=f"dpo@{key}.example",
                purposes=purposes, legal_basis=LegalBasis.CONSENT, data_role=DataRole.CONTROLLER,
                allowed_datasets=[Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE,
                                  Dataset.DAILY_PRODUCTION, Dataset.DAILY_MAX_POWER],
                redirect_uris=[redirect]), tenant_id="default", now=now)
            ids[key], ids[f"{key}_client"] = recipient.id, recipient.client_id
            portal.secrets[key] = secret
    service = ConsentService(portal.db, portal.clock)
    for key, owner, recipient, ref, datasets, resolution in (
            ("alice_coach", "alice", "coach", ALICE_PRM,
             [Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE], Resolution.PT30M),
            ("alice_soleil", "alice", "soleil", ALICE_PRM, [Dataset.DAILY_PRODUCTION],
             Resolution.P1D),
            ("bob_coach", "bob", "coach", BOB_PRM, [Dataset.DAILY_CONSUMPTION], Resolution.P1D)):
        given = await service.give(Actor(ActorRole.SUBJECT, party_id=ids[owner]), ConsentDraft(
            grantor_id=ids[owner], recipient_id=ids[recipient], points=[ref], datasets=datasets,
            purpose=(Purpose.SOLAR_ASSESSMENT if recipient == "soleil"
                     else Purpose.ENERGY_MONITORING),
            valid_until=now + timedelta(days=365), max_resolution=resolution,
            history_days=730))
        ids[key] = given.row.id


async def start(database_url: str, data_dir: Path, *,
                adapter_factory: Callable[[Simulator], Any] | None = None,
                **settings: Any) -> AsyncIterator[Portal]:
    """Start the app on a free loopback port, seed it, stop it afterwards. ``adapter_factory``
    wraps the simulator in another adapter (default: :class:`SimulatorAdapter`)."""
    clock = FrozenClock(T0)
    simulator = Simulator(clock, profiles(), port_delay=timedelta(hours=2))
    adapter = (adapter_factory(simulator) if adapter_factory is not None
               else SimulatorAdapter(simulator, timeout=5.0))
    port = unused_port()
    app = create_app(Settings(data_dir=data_dir, database_url=database_url, host="127.0.0.1",
                              port=port, **settings),
                     clock=clock, adapters={source: adapter for source in Source})
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    portal = Portal(f"http://127.0.0.1:{port}", app, app[database_key], clock, simulator)
    try:
        await seed(portal)
        yield portal
    finally:
        await server.close()

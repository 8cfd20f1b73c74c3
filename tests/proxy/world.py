"""A small, real world for data-proxy tests: one household, one point, two apps, two consents.

Everything is real: the application from ``create_app`` on a migrated database, the simulated
DSO (its occupant history matches the database's), consents given through the consent service,
opaque access tokens stored as the OAuth server stores them. Only the token issuance itself is
short-cut (a row written directly), so these tests do not depend on the OAuth endpoints.

- point ``enedis:22516914714270`` (Paris); the household moved in on :data:`MOVE_IN`;
- app ``dash``: daily consumption, load curve, max power, contract and identity, capped at
  ``P1D`` (a daily-only consent), three years of history, access until T0 + 30 days;
- app ``coach``: daily consumption and load curve at ``PT30M``, data from :data:`COACH_FROM`,
  access until :data:`COACH_UNTIL`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer, unused_port
from multidict import CIMultiDict

from adapters.simulator import (
    Fault,
    FaultKind,
    Occupant,
    Simulator,
    SimulatorAdapter,
    derive_profile,
)
from consent.access_events import ACCESS_EVENT_TABLE
from consent.clock import FrozenClock
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole
from consent.models import AccountRole, OAuthToken, PartyKind, UpstreamAuthorisation
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
from proxy.compat.enedis.oauth import CALLBACK_PATH
from proxy.keys import database_key
from proxy.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
PRM = PointRef(Source.ENEDIS, "22516914714270")
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MOVE_IN = date(2025, 3, 10)
COACH_FROM = date(2025, 6, 1)
COACH_UNTIL = T0 + timedelta(days=10)
DASH_UNTIL = T0 + timedelta(days=30)
USERNAME, PASSWORD = "ana", "ana-test-password-2026"


def midnight(day: date) -> datetime:
    """Local midnight in Paris."""
    return datetime.combine(day, datetime.min.time(), tzinfo=PARIS)


@dataclass
class World:
    """The running app and what a test needs to drive it."""

    client: TestClient[Any, Any]
    clock: FrozenClock
    simulator: Simulator
    db: Database
    household_id: str
    issuer: str
    apps: dict[str, str] = field(default_factory=dict)  # name -> recipient id
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)  # client id, secret
    consents: dict[str, str] = field(default_factory=dict)  # name -> consent id
    last_body: bytes = b""

    async def token(self, app: str, *, bound: bool = False,
                    scope: str = "daily_consumption consumption_load_curve daily_max_power "
                                 "contract identity",
                    ttl: timedelta = timedelta(days=60)) -> str:
        """A fresh access token of ``app``: app-wide (client credentials) or consent-bound."""
        raw = new_secret(ACCESS_PREFIX)
        async with self.db.session() as session:
            session.add(OAuthToken(
                tenant_id="default", kind=TokenKind.ACCESS, token_hash=digest(raw),
                family_id=new_id(), recipient_id=self.apps[app],
                consent_id=self.consents[app] if bound else None,
                grant_type="authorization_code" if bound else "client_credentials",
                scope=scope, expires_at=self.clock.now() + ttl, created_at=self.clock.now()))
        return raw

    async def get(self, path: str, token: str | None,
                  **params: str) -> tuple[int, Any, CIMultiDict[str]]:
        """GET ``path`` with a bearer token; the JSON body and headers."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.client.get(path, params=params, headers=headers) as response:
            raw = await response.read()
            self.last_body = raw
            body = json.loads(raw) if raw else None
            return response.status, body, response.headers.copy()

    async def series(self, token: str, dataset: str, start: date, end: date,
                     **params: str) -> tuple[int, Any, CIMultiDict[str]]:
        """The native API for ``dataset`` of :data:`PRM`."""
        return await self.get(f"/api/v1/points/{PRM}/datasets/{dataset}", token,
                              start=start.isoformat(), end=end.isoformat(), **params)

    async def series_while_the_dso_answers(self, token: str, delay: float = 0.2,
                                           day: date = date(2026, 11, 8),
                                           ) -> asyncio.Future[Any]:
        """Start a request for one ``day`` of daily consumption whose DSO call takes
        ``delay`` seconds (under the world's 0.3 s DSO timeout); return once that call has
        started, the request still waiting on it. The point is described first (a read of
        the first week of November), so that the one call the request is waiting on is the
        series' own."""
        await self.series(token, "daily_consumption", date(2026, 11, 1), date(2026, 11, 8))
        faults = self.simulator.faults
        faults.next(Fault.of(FaultKind.LATENCY, delay=delay))
        asked = asyncio.ensure_future(self.series(
            token, "daily_consumption", day, day + timedelta(days=1)))
        for _ in range(2000):  # until the DSO call has started (the fault is drawn)
            if not faults.to_json()["queued"]:
                break
            await asyncio.sleep(0.005)
        return asked

    async def events(self) -> list[dict[str, Any]]:
        """Every access event, oldest first."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(sa.select(ACCESS_EVENT_TABLE)
                                      .order_by(ACCESS_EVENT_TABLE.c.at))
            return [dict(r._mapping) for r in rows]

    async def withdraw(self, app: str) -> None:
        """The household withdraws the consent of ``app``."""
        service = ConsentService(self.db, self.clock)
        await service.withdraw(Actor(ActorRole.SUBJECT, party_id=self.household_id),
                               self.consents[app])

    async def give_later(self, app: str, *, max_resolution: Resolution,
                         history_days: int) -> str:
        """A minute from now, the household gives ``app`` a further consent on :data:`PRM`
        (daily consumption and load curve, until :data:`COACH_UNTIL`); its id."""
        self.clock.set(self.clock.now() + timedelta(minutes=1))
        given = await ConsentService(self.db, self.clock).give(
            Actor(ActorRole.SUBJECT, party_id=self.household_id), ConsentDraft(
                grantor_id=self.household_id, recipient_id=self.apps[app], points=[PRM],
                datasets=[Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE],
                purpose=Purpose.ENERGY_MONITORING, valid_until=COACH_UNTIL,
                max_resolution=max_resolution, history_days=history_days))
        return given.row.id

    async def end_upstream(self) -> None:
        """The upstream authorisation of the point is revoked at the DSO."""
        async with self.db.session() as session:
            await session.exec(sa.update(UpstreamAuthorisation)  # type: ignore[call-overload]
                               .values(state=UpstreamState.REVOKED))


def profile() -> Any:
    """The simulator's view of the point: same move-in as the database."""
    return derive_profile(PRM, commissioned=date(2017, 1, 1), occupants=(
        Occupant("C0000000001", date(2018, 1, 1), MOVE_IN, title="M.", firstname="Paul",
                 lastname="Avant"),
        Occupant("C0000000002", MOVE_IN, None, title="Mme", firstname="Ana", lastname="Martin",
                 email="ana.martin@example.org", phone="+33 600000000")))


async def build_world(database_url: str, data_dir: Path, *, cache: bool = True,
                      rate: float = 1000.0, burst: int = 1000,
                      adapter_class: type[SimulatorAdapter] = SimulatorAdapter,
                      dso_timeout: float = 0.3, **settings: Any) -> World:
    """Start the app on ``database_url`` and seed the world described in the module
    (``dso_timeout``: how long the app waits for the simulated DSO; ``settings``: more
    :class:`~proxy.settings.Settings` fields)."""
    clock = FrozenClock(T0)
    simulator = Simulator(clock, [profile()])
    adapter = adapter_class(simulator, timeout=dso_timeout)
    port = unused_port()
    config = Settings(data_dir=data_dir, database_url=database_url, upstream_cache=cache,
                      recipient_rate=rate, recipient_burst=burst, host="127.0.0.1", port=port,
                      **settings)
    app = create_app(config, clock=clock, adapters={source: adapter for source in Source})
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    db = app[database_key]
    world = World(client, clock, simulator, db, household_id="", issuer=config.issuer)
    await _seed(world)
    return world


async def _seed(world: World) -> None:
    now = world.clock.now()
    async with world.db.session() as session:
        household = await registry.add_party(session, tenant_id="default",
                                             kind=PartyKind.HOUSEHOLD, name="Ana Martin",
                                             now=now)
        await registry.add_account(session, tenant_id="default", username=USERNAME,
                                   password=PASSWORD, party_id=household.id,
                                   roles=[AccountRole.HOUSEHOLD], now=now)
        previous = await registry.add_party(session, tenant_id="default",
                                            kind=PartyKind.HOUSEHOLD, name="Paul Avant", now=now)
        point = await registry.add_point(session, tenant_id="default", ref=PRM,
                                         energy=Energy.ELECTRICITY,
                                         directions=[Direction.CONSUMPTION], now=now)
        await registry.add_occupancy(session, tenant_id="default", point_id=point.id,
                                     household_id=previous.id,
                                     starts_at=midnight(date(2018, 1, 1)),
                                     ends_at=midnight(MOVE_IN), now=now)
        await registry.add_occupancy(session, tenant_id="default", point_id=point.id,
                                     household_id=household.id, starts_at=midnight(MOVE_IN),
                                     ends_at=None, now=now)
        await registry.add_upstream_authorisation(
            session, tenant_id="default", point=point, upstream_id="DC-1",
            valid_from=midnight(date(2024, 1, 1)), valid_until=midnight(date(2029, 1, 1)),
            state=UpstreamState.ACTIVE, now=now, household_id=household.id)
        for name in ("dash", "coach"):
            recipient, secret = await registry.register_recipient(
                session, registry.RecipientDraft(
                    name=name, website=f"https://{name}.example",
                    contact_email=f"dpo@{name}.example", purposes=[Purpose.ENERGY_MONITORING],
                    legal_basis=LegalBasis.CONSENT, data_role=DataRole.CONTROLLER,
                    allowed_datasets=list(Dataset),
                    redirect_uris=[f"https://{name}.example/cb", world.issuer + CALLBACK_PATH]),
                tenant_id="default", now=now)
            world.apps[name] = recipient.id
            world.credentials[name] = (recipient.client_id, secret)
    world.household_id = household.id
    service = ConsentService(world.db, world.clock)
    subject = Actor(ActorRole.SUBJECT, party_id=household.id)
    dash = await service.give(subject, ConsentDraft(
        grantor_id=household.id, recipient_id=world.apps["dash"], points=[PRM],
        datasets=[Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE,
                  Dataset.DAILY_MAX_POWER, Dataset.CONTRACT, Dataset.IDENTITY],
        purpose=Purpose.ENERGY_MONITORING, valid_until=DASH_UNTIL,
        max_resolution=Resolution.P1D, history_days=1095))
    coach = await service.give(subject, ConsentDraft(
        grantor_id=household.id, recipient_id=world.apps["coach"], points=[PRM],
        datasets=[Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE],
        purpose=Purpose.ENERGY_MONITORING, valid_until=COACH_UNTIL,
        max_resolution=Resolution.PT30M, history_days=1095, data_from=midnight(COACH_FROM)))
    world.consents = {"dash": dash.row.id, "coach": coach.row.id}


def sha256(body: bytes) -> str:
    """Hex SHA-256, as access events record it."""
    return hashlib.sha256(body).hexdigest()

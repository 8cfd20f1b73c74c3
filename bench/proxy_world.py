"""The benchmark's world: households with consents to one app, and the polling workload.

:func:`seed` fills a database for the throughput run (real consents through the consent
service, an app-wide access token stored as the OAuth server stores it) and returns the token.
:func:`polling_economy` runs many apps polling the same households every morning through an
in-process Passerelle (cache on) and counts the DSO calls it makes.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from adapters.simulator import Simulator, SimulatorAdapter
from consent.clock import Clock, FrozenClock, SystemClock
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole
from consent.models import DEFAULT_TENANT, OAuthToken, PartyKind
from consent.models.base import new_id
from consent.models.oauth import TokenKind
from consent.periods import Period
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.readings import Series
from consent.services import registry
from consent.services.base import Actor
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService
from consent.storage import Database
from consent.tokens import ACCESS_PREFIX, digest, new_secret
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Direction, Energy, Resolution
from proxy.app import create_app
from proxy.settings import Settings

SECRET = "bench-secret-not-for-production"  # noqa: S105 - a local benchmark's upstream secret
POINTS = [PointRef(Source.ENEDIS, f"{30000000000000 + 7919 * k:014d}") for k in range(50)]


async def seed(database_url: str, *, apps: int = 1, points: int = 20,
               clock: Clock | None = None) -> list[str] | str:
    """Households on ``points`` points, each consenting to ``apps`` apps; one token per app."""
    clock = clock or SystemClock()
    now = clock.now()
    db = Database.from_url(database_url)
    await db.migrate()
    recipients, households = [], []
    try:
        async with db.session() as session:
            for k, ref in enumerate(POINTS[:points]):
                party = await registry.add_party(session, tenant_id="default",
                                                 kind=PartyKind.HOUSEHOLD, name=f"H{k}", now=now)
                point = await registry.add_point(session, tenant_id="default", ref=ref,
                                                 energy=Energy.ELECTRICITY,
                                                 directions=[Direction.CONSUMPTION], now=now)
                start = datetime(2015, 1, 1, tzinfo=UTC)
                await registry.add_occupancy(session, tenant_id="default", point_id=point.id,
                                             household_id=party.id, starts_at=start,
                                             ends_at=None, now=now)
                await registry.add_upstream_authorisation(
                    session, tenant_id="default", point=point, upstream_id=f"DC-{k}",
                    valid_from=start, valid_until=None, state=UpstreamState.ACTIVE, now=now)
                households.append(party.id)
            for a in range(apps):
                recipient, _ = await registry.register_recipient(session, registry.RecipientDraft(
                    name=f"app{a}", website="https://app.example", contact_email="d@app.example",
                    purposes=[Purpose.ENERGY_MONITORING], legal_basis=LegalBasis.CONSENT,
                    data_role=DataRole.CONTROLLER, allowed_datasets=[Dataset.DAILY_CONSUMPTION],
                    redirect_uris=["https://app.example/cb"]), tenant_id="default", now=now)
                recipients.append(recipient.id)
        service = ConsentService(db, clock)
        for household, ref in zip(households, POINTS[:points], strict=True):
            for recipient in recipients:
                await service.give(Actor(ActorRole.SUBJECT, party_id=household), ConsentDraft(
                    grantor_id=household, recipient_id=recipient, points=[ref],
                    datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.ENERGY_MONITORING,
                    valid_until=now + timedelta(days=365), max_resolution=Resolution.P1D,
                    history_days=1095))
        tokens = []
        async with db.session() as session:
            for recipient in recipients:
                raw = new_secret(ACCESS_PREFIX)
                session.add(OAuthToken(
                    tenant_id="default", kind=TokenKind.ACCESS, token_hash=digest(raw),
                    family_id=new_id(), recipient_id=recipient, consent_id=None,
                    grant_type="client_credentials", scope="daily_consumption",
                    expires_at=now + timedelta(days=30), created_at=now))
                tokens.append(raw)
    finally:
        await db.dispose()
    return tokens[0] if apps == 1 else tokens


class CountingAdapter(SimulatorAdapter):
    """The in-process simulator, counting data calls."""

    calls = 0

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        CountingAdapter.calls += 1
        return await super().series(point, dataset, period, resolution)


async def polling_economy(*, apps: int, points: int, days: int) -> dict[str, Any]:
    """Every morning each app reads the last 7 days of each household; count DSO calls."""
    clock = FrozenClock(datetime(2026, 11, 2, 8, 30, tzinfo=UTC))
    CountingAdapter.calls = 0
    adapter = CountingAdapter(Simulator(clock))
    with TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/economy.db"
        tokens = await seed(url, apps=apps, points=points, clock=clock)
        assert isinstance(tokens, list)
        settings = Settings(data_dir=Path(tmp), database_url=url, recipient_rate=1e6,
                            recipient_burst=10**6)
        app = create_app(settings, clock=clock, adapters={s: adapter for s in Source})
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        served, limit, rng = 0, asyncio.Semaphore(16), random.Random(7)
        try:
            for _day in range(days):
                today = clock.now().date()
                start, end = today - timedelta(days=7), today
                jobs = [(t, p) for t in tokens for p in POINTS[:points]]
                rng.shuffle(jobs)

                async def poll(token: str, point: PointRef, start: date = start,
                               end: date = end) -> int:
                    async with limit, client.get(
                            f"/api/v1/points/{point}/datasets/daily_consumption",
                            params={"start": start.isoformat(), "end": end.isoformat()},
                            headers={"Authorization": f"Bearer {token}"}) as r:
                        await r.read()
                        return r.status

                statuses = await asyncio.gather(*(poll(t, p) for t, p in jobs))
                served += sum(1 for s in statuses if s == 200)
                clock.advance(timedelta(days=1))
        finally:
            await client.close()
    # One call per household for the first 7-day window, then one per household per new day.
    return {"served": served, "calls": CountingAdapter.calls, "minimum": points * days}


async def one_recipient(url: str) -> tuple[str, str]:
    """Migrate the database at ``url`` and register one bench recipient (client credentials
    for daily consumption); its client id and secret (the OAuth benchmarks' client)."""
    db = Database.from_url(url)
    await db.migrate()
    async with db.session() as session:
        recipient, secret = await registry.register_recipient(session, registry.RecipientDraft(
            name="Bench", website="https://b.example", contact_email="b@b.example",
            purposes=["energy_monitoring"], legal_basis="consent", data_role="controller",
            allowed_datasets=["daily_consumption"], redirect_uris=["https://b.example/cb"]),
            tenant_id=DEFAULT_TENANT, now=SystemClock().now())
    await db.dispose()
    return recipient.client_id, secret


class DurablePostgres:
    """A throwaway PostgreSQL cluster with durable commits (fsync and synchronous_commit on),
    so that "durable before the answer" costs what it costs in production."""

    def __init__(self, max_connections: int = 120) -> None:
        from tests.support.postgres import Cluster, locate_binaries

        bindir = locate_binaries()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed")
        self.cluster = Cluster(bindir)
        self.max_connections = max_connections

    def __enter__(self) -> str:
        c = self.cluster
        import shutil

        if c._as_postgres:
            shutil.chown(c.root, "postgres", "postgres")
        c._run(str(c.bindir / "initdb"), "-D", str(c.datadir), "-U", "postgres", "--auth=trust",
               "-E", "UTF8", "--locale=C")
        options = (f"-c listen_addresses=127.0.0.1 -c port={c.port} "
                   f"-c unix_socket_directories={c.root} -c max_connections={self.max_connections}")
        c._run(str(c.bindir / "pg_ctl"), "-D", str(c.datadir), "-o", options,
               "-l", str(c.root / "server.log"), "-w", "-t", "60", "start")
        return c.url

    def __exit__(self, *exc: object) -> None:
        self.cluster.stop()

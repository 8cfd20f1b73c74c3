"""Fixtures of the market-rule tests (issue 8): the small world of tests/support/world.py plus a
third point for Alice (R14), a social worker of the CPAS (R11) and every domain service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from consent import accounts
from consent.clock import FrozenClock
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole
from consent.models import Party, PartyKind
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import ConsentService, MandateService, OccupancyService
from consent.services import registry as reg
from consent.services.communities import CommunityService
from consent.services.supply import SupplyService
from consent.storage import Database
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Direction, Energy
from tests.rules.app_world import RulesWorld, build
from tests.support.databases import SqliteFactory
from tests.support.world import World, build_world

ALICE_EAN = PointRef(Source.INHOUSE, "541449200000004562")


@dataclass
class Rules:
    """The world, the services, and the extra parties of these tests."""

    world: World
    consents: ConsentService
    mandates: MandateService
    occupancy: OccupancyService
    supply: SupplyService
    communities: CommunityService
    social_worker: Party
    stranger_worker: Party

    @property
    def as_worker(self):  # type: ignore[no-untyped-def]
        return self.world.actor(self.social_worker, ActorRole.MANDATARY)


async def register_app(db: Database, clock: FrozenClock, name: str, purpose: Purpose,
                       **extra: object) -> str:
    """Register a recipient app reading daily consumption; its id."""
    async with db.session() as s:
        recipient, _ = await reg.register_recipient(s, reg.RecipientDraft(
            name=name, website=f"https://{name.lower()}.example",
            contact_email=f"dpo@{name.lower()}.example", purposes=[purpose],
            legal_basis=LegalBasis.CONSENT, data_role=DataRole.CONTROLLER,
            allowed_datasets=[Dataset.DAILY_CONSUMPTION],
            redirect_uris=[f"https://{name.lower()}.example/cb"], **extra),  # type: ignore[arg-type]
            tenant_id="default", now=clock.now())
    return recipient.id


@pytest.fixture
async def rules(db: Database, clock: FrozenClock) -> Rules:
    world = await build_world(db, clock)
    now = clock.now()
    async with db.session() as s:
        point = await reg.add_point(s, tenant_id="default", ref=ALICE_EAN, energy=Energy.GAS,
                                    directions=[Direction.CONSUMPTION], now=now)
        await reg.add_occupancy(s, tenant_id="default", point_id=point.id,
                                household_id=world.alice.id, starts_at=world.moved_in,
                                ends_at=None, now=now)
        await reg.add_upstream_authorisation(
            s, tenant_id="default", point=point, upstream_id="UP-EAN", valid_from=world.moved_in,
            valid_until=None, state=UpstreamState.ACTIVE, now=now, household_id=world.alice.id)
        world.points[ALICE_EAN] = point
        worker = await reg.add_party(s, tenant_id="default", kind=PartyKind.PERSON,
                                     name="Marc (CPAS)", member_of_id=world.cpas.id, now=now)
        stranger = await reg.add_party(s, tenant_id="default", kind=PartyKind.PERSON,
                                       name="Nobody", now=now)
    consents = ConsentService(db, clock)
    mandates = MandateService(db, clock)
    return Rules(world, consents, mandates, OccupancyService(db, clock, consents, mandates),
                 SupplyService(db, clock), CommunityService(db, clock), worker, stranger)


@pytest.fixture(autouse=True)
def cheap_argon2() -> Iterator[None]:
    """Tests only: argon2id with minimal cost, restored after each test (so that tests of the
    production parameters elsewhere see them, whatever the order)."""
    previous = accounts._hasher
    accounts.configure(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID))
    yield
    accounts.configure(previous)


@pytest.fixture
async def app_world(sqlite_factory: SqliteFactory, tmp_path: Path) -> AsyncIterator[RulesWorld]:
    """The two-tenant running world of tests/rules/app_world.py on SQLite."""
    url = sqlite_factory.create()
    world = await build(url, tmp_path / "instance")
    yield world
    await world.client.close()
    sqlite_factory.drop(url)


@pytest.fixture
async def app_world_any(database_url: str, tmp_path: Path) -> AsyncIterator[RulesWorld]:
    """The same world on each backend (SQLite and PostgreSQL): the data path's queries."""
    world = await build(database_url, tmp_path / "instance")
    yield world
    await world.client.close()

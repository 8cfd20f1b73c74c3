"""Fixtures of the consent-domain tests: a small world and its services on both backends."""

from __future__ import annotations

import pytest

from consent.clock import FrozenClock
from consent.services import ConsentService, MandateService
from consent.storage import Database
from tests.support.world import World, build_world


@pytest.fixture
async def world(db: Database, clock: FrozenClock) -> World:
    """Two households with points, a recipient, staff (tests/support/world.py)."""
    return await build_world(db, clock)


@pytest.fixture
def consents(db: Database, clock: FrozenClock) -> ConsentService:
    """The consent service on the test database."""
    return ConsentService(db, clock)


@pytest.fixture
def mandates(db: Database, clock: FrozenClock) -> MandateService:
    """The mandate service on the test database."""
    return MandateService(db, clock)

"""Fault tests: the production topology under kill -9, DSO outages and a database restart.

They bring up their own local topology (``deploy/local-topology.sh``: PostgreSQL, the DSO
simulator over HTTP, two replicas, nginx) and break it, so they take minutes, not seconds: they
run only when asked::

    PASSERELLE_FAULT_TESTS=1 python -m pytest tests/faults

Without that variable the default run does not collect them at all (tests/conftest.py), so
they are neither run nor reported as skipped; ``.ci/run`` runs them as a separate step.

The replicas get short upstream timeouts so that a hung DSO costs seconds per request, not the
default ten.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bench.proxy_world import seed as seed_recipients
from consent.clock import FrozenClock
from consent.storage import Database
from proxy.environment import with_password
from tests.faults.harness import Faulty
from tests.oauth.conftest import seed as seed_household
from tests.support.topology import local_topology

ENVIRONMENT = {"PASSERELLE_UPSTREAM_TIMEOUT": "2", "PASSERELLE_UPSTREAM_MAX_WAIT": "2",
               "PASSERELLE_TELEMETRY_INTERVAL": "2"}


@dataclass(frozen=True)
class World:
    """Who acts in the fault tests."""

    faulty: Faulty
    client_id: str  # Alice's consents go to this app
    tokens: list[str]  # app-wide tokens of recipients reading 20 points


async def _seed(url: str) -> tuple[str, list[str]]:
    db = Database.from_url(url)
    try:
        household = await seed_household(db, FrozenClock(datetime.now(UTC)))
    finally:
        await db.dispose()
    tokens = await seed_recipients(url, apps=4, points=20)
    assert isinstance(tokens, list)
    return household.client_id, tokens


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    """One topology for every fault test; each test leaves it running and fault-free."""
    with local_topology(**ENVIRONMENT) as topology:
        url = with_password(topology.database_url, topology.secret("db_password"))
        client_id, tokens = asyncio.run(_seed(url))
        yield World(Faulty(topology, ENVIRONMENT, url), client_id, tokens)

"""The adapters under contract, each wired to the same simulator and the same frozen clock.

``harness`` is parametrized over every adapter: the in-process :class:`SimulatorAdapter` and the
in-house HTTP client against the real simulator server on 127.0.0.1. A new adapter joins by
adding a parameter here (with a fake server of its DSO).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import aiohttp
import pytest

from adapters.base import MeterDataAdapter
from adapters.inhouse.client import InhouseClient
from adapters.simulator import Occupant, PointProfile, Simulator, SimulatorAdapter, derive_profile
from consent.clock import FrozenClock
from consent.identifiers import PointRef, Source
from tests.contract.servers import CLIENT_ID, CLIENT_SECRET, serve

NOW = datetime(2026, 10, 15, 10, 0, tzinfo=UTC)
TIMEOUT = 0.3  # seconds; fault tests inject more latency than this

LONG = PointRef(Source.ENEDIS, "22516914714270")  # same occupant for years, with PV
MOVED = PointRef(Source.ENEDIS, "11453290002823")  # new occupant since 2026-09-10
GAS = PointRef(Source.GRDF, "23000000000000")
VACANT = PointRef(Source.ENEDIS, "32320647321714")  # last occupant left in June
NO_CURVE = PointRef(Source.ENEDIS, "42900589957123")  # load curve not recorded
EAN = PointRef(Source.INHOUSE, "541441000000123458")
UNKNOWN = PointRef(Source.ENEDIS, "12345678999999")  # reserved: unknown to the simulator


def _one(customer: str, move_in: date, move_out: date | None = None) -> Occupant:
    return Occupant(customer, move_in, move_out, "Mme", "Alice", "Martin",
                    "alice@example.org", "+33 600000000")


def profiles() -> list[PointProfile]:
    long_ago = date(2015, 3, 1)
    commissioned = {"commissioned": date(2017, 1, 1)}
    return [
        derive_profile(LONG, occupants=(_one("C1", long_ago),), has_production=True,
                       **commissioned),
        derive_profile(MOVED, occupants=(_one("C2", long_ago, date(2026, 9, 1)),
                                         _one("C3", date(2026, 9, 10))), **commissioned),
        derive_profile(GAS, occupants=(_one("C4", long_ago),), **commissioned),
        derive_profile(VACANT, occupants=(_one("C5", long_ago, date(2026, 6, 1)),),
                       **commissioned),
        derive_profile(NO_CURVE, occupants=(_one("C6", long_ago),), load_curve_enabled=False,
                       **commissioned),
    ]


@dataclass
class Harness:
    """One adapter under test and the simulator behind it."""

    adapter: MeterDataAdapter
    simulator: Simulator
    clock: FrozenClock
    wire: bool  # True when a real HTTP exchange sits between adapter and simulator


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def simulator(clock: FrozenClock) -> Simulator:
    return Simulator(clock, profiles(), seed=7)


@pytest.fixture
async def base_url(simulator: Simulator) -> AsyncIterator[str]:
    async for url in serve(simulator):
        yield url


@pytest.fixture(params=["in-process", "inhouse-http"])
async def harness(request: pytest.FixtureRequest, simulator: Simulator,
                  clock: FrozenClock) -> AsyncIterator[Harness]:
    if request.param == "in-process":
        yield Harness(SimulatorAdapter(simulator, timeout=TIMEOUT), simulator, clock, wire=False)
        return
    async for url in serve(simulator):
        async with aiohttp.ClientSession() as session:
            client = InhouseClient(session, url, CLIENT_ID, CLIENT_SECRET,
                                   timeout=TIMEOUT, clock=clock)
            yield Harness(client, simulator, clock, wire=True)

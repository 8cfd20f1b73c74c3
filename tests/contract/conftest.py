"""The adapters under contract, each wired to the same simulator and the same frozen clock.

``harness`` is parametrized over every adapter: the in-process :class:`SimulatorAdapter`, the
in-house HTTP client against the simulator's server, and the Enedis (2026 and v5) adapter
against the fake Data Connect, and the GRDF ADICT adapter against the fake ADICT, on
127.0.0.1. A new adapter joins by adding a parameter here and a
harness in ``harnesses.py`` (with a fake server of its DSO).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.enedis import Generation
from adapters.simulator import Simulator
from consent.clock import FrozenClock
from tests.contract.harnesses import (  # the constants are re-exported for other suites
    EAN,
    GAS,
    LONG,
    MOVED,
    NO_CURVE,
    NOW,
    UNKNOWN,
    VACANT,
    Harness,
    enedis_harness,
    grdf_harness,
    inhouse_harness,
    profiles,
    simulator_harness,
)
from tests.contract.servers import serve

__all__ = ["EAN", "GAS", "LONG", "MOVED", "NO_CURVE", "UNKNOWN", "VACANT"]

ADAPTERS = ["in-process", "inhouse-http", "enedis-2026", "enedis-v5", "grdf"]
#: Adapters that reach their DSO over HTTP (truncated and malformed bodies apply to them).
WIRED = [name for name in ADAPTERS if name != "in-process"]
#: Adapters that retry a safe call after a passing server error.
RETRYING = ["enedis-2026", "enedis-v5", "grdf"]
#: Adapters whose DSO publishes load curves (ADICT publishes none).
CURVED = [name for name in ADAPTERS if name != "grdf"]
#: Adapters of a DSO that is the operator itself: they check meter numbers (R15).
METER_NUMBERS = ["in-process", "inhouse-http"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``harness`` over the adapters a test applies to.

    ``@pytest.mark.wired`` keeps the adapters with a wire, ``@pytest.mark.retrying`` those that
    retry, ``@pytest.mark.curves`` those whose DSO publishes load curves,
    ``@pytest.mark.meter_numbers`` those of the operator's own DSO. A test that does not
    apply to an adapter is not generated for it (rather than skipped), so every collected
    contract test runs.
    """
    if "harness" not in metafunc.fixturenames:
        return
    names = ADAPTERS
    if metafunc.definition.get_closest_marker("wired"):
        names = WIRED
    if metafunc.definition.get_closest_marker("retrying"):
        names = RETRYING
    if metafunc.definition.get_closest_marker("curves"):
        names = [name for name in names if name in CURVED]
    if metafunc.definition.get_closest_marker("meter_numbers"):
        names = [name for name in names if name in METER_NUMBERS]
    metafunc.parametrize("harness", names, indirect=True)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def simulator(clock: FrozenClock) -> Simulator:
    return Simulator(clock, profiles(), seed=7)


@pytest.fixture
async def base_url(simulator: Simulator) -> AsyncIterator[str]:
    """The in-house DSO server over the suite's simulator (for the in-house server tests)."""
    async for url in serve(simulator):
        yield url


@pytest.fixture
async def harness(request: pytest.FixtureRequest, simulator: Simulator,
                  clock: FrozenClock) -> AsyncIterator[Harness]:
    if request.param == "in-process":
        yield simulator_harness(simulator, clock)
    elif request.param == "inhouse-http":
        async with inhouse_harness(simulator, clock) as harness:
            yield harness
    elif request.param == "grdf":
        async with grdf_harness(simulator, clock) as harness:
            yield harness
    else:
        generation = Generation.V5 if request.param == "enedis-v5" else Generation.DC2026
        async with enedis_harness(simulator, clock, generation) as harness:
            yield harness

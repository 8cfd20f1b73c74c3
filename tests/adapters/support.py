"""Stand up a fake DSO and its real adapter on 127.0.0.1, over the contract suite's simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from adapters.base import Quota
from adapters.enedis import EnedisAdapter, EnedisConfig, Generation
from adapters.fakes.common import serve
from adapters.fakes.enedis import ENEDIS_KEY, EnedisFakeConfig, EnedisState, create_enedis_app
from adapters.fakes.grdf import (
    API_PREFIX,
    GRDF_KEY,
    TOKEN_PATH,
    GrdfFakeConfig,
    GrdfState,
    create_grdf_app,
)
from adapters.grdf.adapter import GrdfAdapter
from adapters.grdf.config import GrdfConfig
from adapters.inhouse.client import InhouseClient
from adapters.inhouse.config import ServerConfig
from adapters.inhouse.server import create_inhouse_app
from adapters.inhouse.wire import API_PREFIX as INHOUSE_PREFIX
from adapters.inhouse.wire import route_family
from adapters.limiter import FairLimiter
from adapters.quota import UpstreamLimiter
from adapters.simulator import Simulator
from consent.clock import FrozenClock
from tests.contract.harnesses import (
    CLIENT_ID,
    CLIENT_SECRET,
    FAST_RETRY,
    NOW,
    ROOMY,
    TIMEOUT,
    clocked_limiter,
    profiles,
)


@dataclass
class Sleeps:
    """An injectable ``sleep`` that records the waits instead of waiting, moving ``clock``
    on by as much (the limiter then sees the time a real wait would have taken)."""

    clock: FrozenClock
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


@dataclass
class EnedisWorld:
    adapter: EnedisAdapter
    state: EnedisState
    simulator: Simulator
    clock: FrozenClock
    url: str
    session: aiohttp.ClientSession
    sleeps: Sleeps


@asynccontextmanager
async def enedis_world(generation: Generation = Generation.DC2026, *,
                       limiter: UpstreamLimiter | None = None,
                       fake: dict[str, Any] | None = None,
                       config: dict[str, Any] | None = None) -> AsyncIterator[EnedisWorld]:
    clock = FrozenClock(NOW)
    simulator = Simulator(clock, profiles(), seed=7)
    app = create_enedis_app(simulator, EnedisFakeConfig(
        clients={CLIENT_ID: CLIENT_SECRET}, **{"quotas": ROOMY, **(fake or {})}))
    sleeps = Sleeps(clock)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        settings = EnedisConfig(CLIENT_ID, CLIENT_SECRET, **{
            "base_url": url, "consent_host": url, "generation": generation,
            "timeout": TIMEOUT, "retry": FAST_RETRY, "quotas": ROOMY, **(config or {})})
        adapter = EnedisAdapter(session, settings, clock=clock,
                                limiter=limiter or clocked_limiter(clock), sleep=sleeps)
        yield EnedisWorld(adapter, app[ENEDIS_KEY], simulator, clock, url, session, sleeps)


@dataclass
class GrdfWorld:
    adapter: GrdfAdapter
    state: GrdfState
    simulator: Simulator
    clock: FrozenClock
    url: str
    sleeps: Sleeps


@asynccontextmanager
async def grdf_world(*, fake: dict[str, Any] | None = None,
                     config: dict[str, Any] | None = None) -> AsyncIterator[GrdfWorld]:
    clock = FrozenClock(NOW)
    simulator = Simulator(clock, profiles(), seed=7)
    app = create_grdf_app(simulator, GrdfFakeConfig(
        clients={CLIENT_ID: CLIENT_SECRET}, **{"quotas": ROOMY, **(fake or {})}))
    sleeps = Sleeps(clock)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        settings = GrdfConfig(CLIENT_ID, CLIENT_SECRET, **{
            "base_url": url + API_PREFIX, "token_url": url + TOKEN_PATH, "timeout": TIMEOUT,
            "retry": FAST_RETRY, "quotas": ROOMY, **(config or {})})
        adapter = GrdfAdapter(session, settings, clock=clock,
                              limiter=clocked_limiter(clock), sleep=sleeps)
        yield GrdfWorld(adapter, app[GRDF_KEY], simulator, clock, url, sleeps)


#: What stands in front of an in-house DSO (a gateway): an answer of its own, or ``None`` to
#: pass the request on.
Gateway = Callable[[web.Request], web.StreamResponse | None]


@dataclass
class InhouseDso:
    """An in-house DSO server (the simulator behind it) and a client of it."""

    client: InhouseClient
    limiter: FairLimiter
    simulator: Simulator
    clock: FrozenClock
    arrivals: list[str]  # route families of the requests that reached the DSO


@asynccontextmanager
async def inhouse_dso(*quotas: Quota, gateway: Gateway | None = None,
                      ) -> AsyncIterator[InhouseDso]:
    """An in-house DSO declaring ``quotas``, counting what reaches it, on a clock the test
    moves; ``gateway`` may answer in its place."""
    clock = FrozenClock(NOW)
    simulator = Simulator(clock, profiles(), seed=7)
    app = create_inhouse_app(simulator, ServerConfig(clients={CLIENT_ID: CLIENT_SECRET},
                                                     quotas=quotas))
    arrivals: list[str] = []

    @web.middleware
    async def count(request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                    ) -> web.StreamResponse:
        if request.path.startswith(INHOUSE_PREFIX + "/"):
            arrivals.append(route_family(request.path.removeprefix(INHOUSE_PREFIX)))
            answer = gateway(request) if gateway is not None else None
            if answer is not None:
                return answer
        return await handler(request)

    app.middlewares.insert(0, count)
    limiter = clocked_limiter(clock)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        client = InhouseClient(session, url, CLIENT_ID, CLIENT_SECRET, clock=clock,
                               limiter=limiter)
        yield InhouseDso(client, limiter, simulator, clock, arrivals)

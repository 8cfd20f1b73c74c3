"""Stand up a fake DSO and its real adapter on 127.0.0.1, over the contract suite's simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp

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

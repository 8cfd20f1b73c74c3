"""Wiring of the data proxy into the application: one ``cleanup_ctx`` and the routes.

:func:`data_ctx` builds, once the database is open: the access-event sink (group commit, the
evidence log's leaves written in the same transaction when the evidence context is open), the
bearer-token and consent-facts memories (dropped through the invalidation bus), the sealed day
cache (unless ``Settings.upstream_cache`` is off), the instance's one upstream limiter
(:class:`~adapters.limiter.FairLimiter`, given to every adapter), one
:class:`~proxy.upstream.fetcher.Upstream` per distinct adapter (with ``Settings.upstream_url``
the remote in-house client), the :class:`~proxy.data.service.DataService`, a janitor that drops
cached days of points no active consent covers any more, and the telemetry sampler
(:mod:`proxy.telemetry`), and the limit of requests naming nobody per client address, whose
summaries are written every few seconds (:mod:`proxy.data.address_limit`). On PostgreSQL the
per-recipient and per-address limits, the quota windows and the upstream token are shared by
every replica (:mod:`consent.shared_state`). Everything closes in
reverse order; pending access events are committed before the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from functools import partial
from pathlib import Path

import aiohttp
from aiohttp import web

from adapters.base import Capabilities, MeterDataAdapter
from adapters.errors import UpstreamError
from adapters.inhouse.client import InhouseClient
from adapters.limiter import FairLimiter
from adapters.quota import Limited
from adapters.simulator import Simulator, SimulatorAdapter
from adapters.simulator.demo import demo_profiles
from consent.access_events import GroupCommitSink
from consent.checks import default_policy
from consent.day_cache import DayCache, load_cache_secret
from consent.demo import DEMO_PLAN
from consent.identifiers import Source
from consent.shared_state import quota_ledger, rate_buckets, token_store
from consent.shared_state.buckets import LeasedBuckets
from proxy import api_docs, native, telemetry
from proxy.bearer_tokens import BearerTokens
from proxy.compat.enedis.handlers import add_compat_routes
from proxy.compat.enedis.oauth import add_compat_oauth_routes
from proxy.compat.enedis.unknown import add_unknown_route
from proxy.data.address_limit import AddressLimit
from proxy.data.evidence import add_evidenced_get
from proxy.data.facts import FactsLoader
from proxy.data.ratelimit import RecipientLimits
from proxy.data.service import DataService
from proxy.environment import InvalidConfiguration
from proxy.keys import (
    access_sink_key,
    access_trail_key,
    adapters_key,
    address_limit_key,
    bearer_tokens_key,
    clock_key,
    data_service_key,
    database_key,
    invalidation_bus_key,
    metrics_key,
    settings_key,
    upstream_limiter_key,
    web_secret_key,
)
from proxy.sweeps import sweep_forever
from proxy.upstream.fetcher import Upstream

log = logging.getLogger("passerelle.data")

#: How long a replica waits at start for a remote DSO to describe itself (s).
START_WAIT = 30.0
#: How often the address limit's closed minutes are written as summary events (s).
SUMMARY_EVERY = 5.0
#: How often the address limit's buckets full again are deleted from PostgreSQL (s).
BUCKET_PRUNE_EVERY = 600.0

def use_adapters(app: web.Application, adapters: Mapping[Source, MeterDataAdapter] | None,
                 ) -> None:
    """Set the adapter of each source; by default the built-in simulator serves them all
    (with the demo's points, occupants and move-in days when the instance runs the demo),
    unless ``Settings.upstream_url`` names a remote in-house DSO API: then :func:`data_ctx`
    connects to it once the loop runs."""
    if adapters is None and app[settings_key].upstream_url:
        return
    if adapters is None:
        profiles = demo_profiles(DEMO_PLAN) if app[settings_key].demo else []
        simulator = SimulatorAdapter(Simulator(app[clock_key], profiles))
        adapters = {source: simulator for source in Source}
    app[adapters_key] = dict(adapters)


def cache_secret(data_dir: Path) -> bytes:
    """:func:`~consent.day_cache.load_cache_secret`, a key that is not 32 bytes of base64
    being :class:`~proxy.environment.InvalidConfiguration` (its message shows no key)."""
    try:
        return load_cache_secret(data_dir)
    except ValueError as error:
        raise InvalidConfiguration(str(error)) from None


def remote_adapters(app: web.Application, session: aiohttp.ClientSession,
                    secret: bytes) -> dict[Source, MeterDataAdapter]:
    """The in-house client at ``Settings.upstream_url`` for every source, its application
    token shared through the database (one token for all replicas), sealed with ``secret``
    (the cache secret)."""
    settings, db = app[settings_key], app[database_key]
    client = InhouseClient(session, settings.upstream_url or "", settings.upstream_client_id,
                           settings.upstream_client_secret or "",
                           timeout=settings.upstream_timeout, clock=app[clock_key],
                           tokens=token_store(db, secret))
    return {source: client for source in Source}


async def _capabilities(adapter: MeterDataAdapter) -> Capabilities:
    """The adapter's capabilities; a remote DSO still starting gets :data:`START_WAIT`."""
    deadline = time.monotonic() + START_WAIT
    while True:
        try:
            return await adapter.capabilities()
        except UpstreamError as error:
            if time.monotonic() > deadline:
                raise
            log.warning("upstream not ready (%s); retrying", error.code)
            await asyncio.sleep(1.0)


async def build_upstreams(adapters: Mapping[Source, MeterDataAdapter], app: web.Application,
                          cache: DayCache | None, limiter: FairLimiter) -> dict[Source, Upstream]:
    """One :class:`Upstream` per distinct adapter, shared by the sources it serves. Every
    adapter takes its turns from ``limiter`` (quota windows counted in PostgreSQL when the
    database is: replicas share the DSO's quota); one that cannot while its DSO announces
    quotas is reported, since nothing else limits it."""
    clock = app[clock_key]
    by_adapter: dict[int, Upstream] = {}
    upstreams: dict[Source, Upstream] = {}
    for source, adapter in adapters.items():
        upstream = by_adapter.get(id(adapter))
        if upstream is None:
            if isinstance(adapter, Limited):
                adapter.limiter = limiter
            capabilities = await _capabilities(adapter)
            if capabilities.quotas and not isinstance(adapter, Limited):
                log.warning("adapter %s declares quotas but takes no limiter turns: its calls "
                            "are not limited", capabilities.name)
            upstream = Upstream(adapter, capabilities, clock, cache=cache,
                                metrics=app[metrics_key])
            by_adapter[id(adapter)] = upstream
        upstreams[source] = upstream
    return upstreams


async def data_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the data path's resources (see the module docstring)."""
    settings, db, clock = app[settings_key], app[database_key], app[clock_key]
    remote = adapters_key not in app
    secret = cache_secret(settings.data_dir) if settings.upstream_cache or remote else b""
    session = aiohttp.ClientSession() if remote else None
    if session is not None:
        app[adapters_key] = remote_adapters(app, session, secret)
    sink = GroupCommitSink(db, also=app.get(access_trail_key))  # + evidence leaves, same commit
    sink.start()
    app[access_sink_key] = sink
    cache = DayCache(db, secret) if settings.upstream_cache else None
    tasks: list[asyncio.Task[None]] = []
    limiter = FairLimiter(max_wait=settings.upstream_max_wait, ledgers=partial(quota_ledger, db),
                          share=settings.upstream_recipient_share)
    app[upstream_limiter_key] = limiter
    limits: RecipientLimits | None = None
    anonymous: AddressLimit | None = None
    caches: list[BearerTokens | FactsLoader] = []
    upstreams: dict[Source, Upstream] = {}
    try:
        adapters: dict[Source, MeterDataAdapter] = app[adapters_key]
        upstreams = await build_upstreams(adapters, app, cache, limiter)
        bus = app[invalidation_bus_key]
        app[bearer_tokens_key] = BearerTokens(db, bus, ttl=settings.check_cache_ttl)
        facts = FactsLoader(db, bus, ttl=settings.check_cache_ttl)
        caches += [app[bearer_tokens_key], facts]
        limits = RecipientLimits(rate_buckets(db, "recipient", settings.recipient_rate,
                                              settings.recipient_burst))
        app[data_service_key] = DataService(facts, upstreams, default_policy(), clock, limits)
        buckets = rate_buckets(db, "unauthenticated", settings.unauthenticated_rate,
                               settings.unauthenticated_burst)
        anonymous = AddressLimit(buckets, sink, clock, app[metrics_key], app[web_secret_key])
        if isinstance(buckets, LeasedBuckets):  # one row per address: drop those full again
            tasks.append(asyncio.create_task(sweep_forever(
                "address-bucket-janitor", buckets.shared.drop_full, BUCKET_PRUNE_EVERY, log,
                "address limit: dropped %d full buckets"), name="address-bucket-janitor"))
        app[address_limit_key] = anonymous
        tasks.append(asyncio.create_task(sweep_forever(
            "address-limit-summaries", anonymous.flush, SUMMARY_EVERY, log,
            "address limit: %d summaries of refused requests written"),
            name="address-limit-summaries"))
        if cache is not None:
            tasks.append(asyncio.create_task(sweep_forever(
                "cache-janitor", partial(purge_cache, cache, facts, app),
                settings.cache_purge_interval, log,
                "cache: dropped %d days no consent needs any more"), name="cache-janitor"))
        tasks.append(asyncio.create_task(telemetry.sample_forever(
            app[metrics_key], db, limiter, settings.telemetry_interval), name="telemetry"))
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for upstream in upstreams.values():  # before what their calls use
            await upstream.close()
        await limiter.close()
        if limits is not None:
            await limits.close()
        if anonymous is not None:  # its last summaries, before the sink closes
            try:
                await anonymous.close()
            except Exception:  # the database gone: the rest must still close (sink, session)
                log.exception("the refused requests' last summaries could not be written")
        for remembering in caches:  # their reads ahead hold pooled connections
            await remembering.close()
        await sink.close()
        if session is not None:
            await session.close()


async def purge_cache(cache: DayCache, facts: FactsLoader, app: web.Application) -> int:
    """Drop cached days of every point and dataset no active consent covers now. Days cached
    after the consents were read are left to the next run: the consent they were fetched
    under may be newer than that read (the delete comes in a later transaction)."""
    now = app[clock_key].now()
    needed = await facts.needed_data(now)
    return await cache.purge(needed, stored_by=now)


def add_data_routes(app: web.Application) -> None:
    """The native API, its documentation, and the Data Connect v5-compatible API."""
    for path, handler, name in (
            ("/api/v1/points/{point_id}/datasets/{dataset}", native.read_dataset,
             "api-read-dataset"),
            ("/api/v1/points", native.list_points, "api-points"),
            ("/api/v1/consents/current", native.current_consents, "api-consents-current")):
        add_evidenced_get(app.router, path, handler, name=name, api=native.API,
                          render_error=native.render_problem)
    app.router.add_get("/api/openapi.json", api_docs.openapi_json, name="api-openapi")
    app.router.add_get("/api/docs", api_docs.docs_page, name="api-docs")
    add_compat_routes(app)
    add_compat_oauth_routes(app)
    add_unknown_route(app)  # last: whatever else comes below /compat/enedis

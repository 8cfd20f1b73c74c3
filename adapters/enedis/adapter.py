"""``EnedisAdapter``: :class:`~adapters.base.MeterDataAdapter` over Enedis Data Connect.

One application token (client credentials, cached, renewed ahead of expiry) serves every
request; every request takes a turn from the shared :class:`~adapters.quota.UpstreamLimiter`
under the generation's declared quotas, counted in the bucket of the API it calls
(:attr:`EnedisConfig.quota_plan`); safe requests are retried on 5xx/429 within bounds
(:mod:`adapters.transport`). Periods are split into calls of at most 7 days for load curves and
365 days otherwise, over whole local days; history (24 months + 15 days for curves, 36 months +
15 days for daily values) and D-1 are checked before any call, the point's activation (move-in)
by Enedis itself (``ADAM-ERR0123``), and each refusal names the period that is served.

The upstream consent (consent page, callback, re-check) is :mod:`adapters.enedis.upstream`.
Data Connect has no meter-port API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import aiohttp

from adapters.base import (
    Capabilities,
    DatasetAvailability,
    DatasetLimits,
    Health,
    Occupancy,
    PointInfo,
)
from adapters.enedis import consent, measures, records, v5
from adapters.enedis.config import (
    CURVE_HISTORY,
    CURVE_WINDOW,
    DAILY_HISTORY,
    DAILY_WINDOW,
    EnedisConfig,
    Generation,
)
from adapters.enedis.errors import classify
from adapters.enedis.measures import Chunk
from adapters.enedis.records import Activation
from adapters.enedis.upstream import UpstreamConsent
from adapters.errors import (
    BeyondHistory,
    NoData,
    NotYetAvailable,
    PeriodNotServed,
    UnknownPoint,
    UnsupportedDataset,
    UnsupportedResolution,
    UpstreamDenied,
    UpstreamError,
)
from adapters.limiter import FairLimiter
from adapters.quota import UpstreamLimiter
from adapters.remote import OverTransport, WithoutMeterPort, token_health
from adapters.timekeeping import at_hour, day_of, days_covering
from adapters.tokens import ClientCredentials, TokenCache
from adapters.transport import UpstreamTransport
from consent.clock import Clock, SystemClock
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.readings import Reading, Record, Series
from consent.vocabulary import Dataset, Direction, Energy, Resolution

CURVE_STEPS = (Resolution.PT10M, Resolution.PT15M, Resolution.PT30M, Resolution.PT1H)
_CURVES = (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE)
_RECORDS = (Dataset.CONTRACT, Dataset.IDENTITY, Dataset.CONTACT, Dataset.ADDRESS)
_CONSUMPTION = (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE,
                Dataset.DAILY_MAX_POWER, Dataset.CONSUMPTION_INDEX)
_PRODUCTION = (Dataset.DAILY_PRODUCTION, Dataset.PRODUCTION_LOAD_CURVE, Dataset.PRODUCTION_INDEX)

Fetcher = Callable[..., Awaitable[Chunk]]


class EnedisAdapter(UpstreamConsent, OverTransport, WithoutMeterPort):
    """Data Connect (2026 or v5, per :class:`EnedisConfig`) as a meter-data adapter."""

    api_name = "Data Connect"

    def __init__(self, session: aiohttp.ClientSession, config: EnedisConfig, *,
                 limiter: UpstreamLimiter | None = None, tokens: TokenCache | None = None,
                 directory: consent.AuthorisationDirectory | None = None,
                 clock: Clock | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.zone = config.timezone
        self.token = ClientCredentials(
            session, config.base_url.rstrip("/") + "/oauth2/v3/token", config.client_id,
            config.client_secret, cache=tokens, clock=self.clock,
            renew_before=config.renew_token_before, timeout=config.timeout,
            credentials_in="form")
        self.transport = UpstreamTransport(
            session, config.base_url, token=self.token, limiter=limiter or FairLimiter(),
            plan=config.quota_plan, classify=classify, timeout=config.timeout,
            retry=config.retry, sleep=sleep)
        self.directory = directory or consent.InMemoryDirectory()
        self._v5 = config.generation is Generation.V5
        self._fetch: Fetcher = v5.fetch if self._v5 else measures.fetch
        self._offered = tuple(d for d in (*_CONSUMPTION, *_PRODUCTION)
                              if not (self._v5 and d in (Dataset.CONSUMPTION_INDEX,
                                                         Dataset.PRODUCTION_INDEX)))
        self._steps: dict[tuple[PointRef, Dataset], Resolution] = {}

    # ---- static facts ------------------------------------------------------------------

    @staticmethod
    def _window(dataset: Dataset) -> timedelta:
        return CURVE_WINDOW if dataset in _CURVES else DAILY_WINDOW

    @staticmethod
    def _history(dataset: Dataset) -> timedelta:
        return CURVE_HISTORY if dataset in _CURVES else DAILY_HISTORY

    @staticmethod
    def _resolutions(dataset: Dataset) -> tuple[Resolution, ...]:
        return CURVE_STEPS if dataset in _CURVES else (Resolution.P1D,)

    async def capabilities(self) -> Capabilities:
        limits = [DatasetLimits(d, frozenset({Energy.ELECTRICITY}), self._resolutions(d),
                                self._window(d), self._history(d)) for d in self._offered]
        limits += [DatasetLimits(d, frozenset({Energy.ELECTRICITY}), (), None, None)
                   for d in _RECORDS]
        name = f"enedis-dataconnect-{self.config.generation.value}"
        return Capabilities(name, frozenset({Source.ENEDIS}), tuple(limits),
                            self.config.declared_quotas, meter_port=False)

    def _prm(self, point: PointRef) -> str:
        if point.source is not Source.ENEDIS:
            raise UnknownPoint(f"Data Connect serves Enedis PRMs, not {point.source.value} "
                               "points.", point=str(point))
        return point.identifier

    def _today(self) -> date:
        return day_of(self.clock.now(), self.zone)

    # ---- availability ------------------------------------------------------------------

    async def _activation(self, prm: str) -> Activation:
        if self._v5:
            found = await v5.activation(self.transport, prm)
            produces = await self._v5_produces(prm)
            return Activation(found.consumption, found.consumption if produces else None)
        return await records.activation(self.transport, prm, self.zone)

    async def _v5_produces(self, prm: str) -> bool:
        """v5 says nothing about injection but its refusal: ask for yesterday's production."""
        yesterday = self._today() - timedelta(days=1)
        try:
            await v5.fetch(self.transport, prm, Dataset.DAILY_PRODUCTION, yesterday,
                           yesterday + timedelta(days=1), self.zone)
        except UnsupportedDataset:
            return False
        except UpstreamDenied:
            raise
        except UpstreamError:
            return True  # no data yet, but the direction exists
        return True

    def _period(self, dataset: Dataset, activation: Activation) -> Period | None:
        direction = dataset.spec.direction
        since = activation.production if direction is Direction.PRODUCTION else \
            activation.consumption
        if since is None:
            return None
        today = self._today()
        first = max(today - self._history(dataset), since)
        return Period(at_hour(first, self.zone), at_hour(today, self.zone)) \
            if first < today else None

    async def describe(self, point: PointRef) -> PointInfo:
        prm = self._prm(point)
        services = await self._services(point)
        try:
            activation: Activation | None = await self._activation(prm)
        except UpstreamDenied:
            activation = None
        directions = set()
        if activation is not None:
            directions = {d for d, day in ((Direction.CONSUMPTION, activation.consumption),
                                           (Direction.PRODUCTION, activation.production)) if day}
        elif services:
            directions = {d.spec.direction for s in services for d in s.datasets
                          if d.spec.direction is not None}
        directions = directions or {Direction.CONSUMPTION}
        items = []
        for dataset in self._offered:
            if dataset.spec.direction not in directions:
                continue
            period = self._period(dataset, activation) if activation else None
            resolutions = self._resolutions(dataset)
            if services is not None:
                mine = [s for s in services if dataset in s.datasets]
                if not any(s.state == "ACTIF" for s in mine):
                    period = None
                steps = {s.step for s in mine if s.state == "ACTIF"}
                if dataset in _CURVES and len(steps) == 1:
                    step = Resolution.parse(steps.pop().replace("PT60M", "PT1H"))
                    resolutions = (step,) if step in CURVE_STEPS else resolutions
            if dataset in _CURVES and period is not None and len(resolutions) > 1:
                resolutions = await self._learn_step(point, dataset, period) or resolutions
            items.append(DatasetAvailability(dataset, resolutions, period))
        items += [DatasetAvailability(d, (), None) for d in _RECORDS]
        return PointInfo(point, Energy.ELECTRICITY, frozenset(directions), self.zone,
                         tuple(items))

    async def _learn_step(self, point: PointRef, dataset: Dataset,
                          period: Period) -> tuple[Resolution, ...] | None:
        """The meter's curve step: remembered, or read from the last served day (one call).
        Enedis has no resolution parameter: a curve comes at the step the meter records."""
        known = self._steps.get((point, dataset))
        if known is None:
            assert period.end is not None
            last = day_of(period.end, self.zone) - timedelta(days=1)
            try:
                chunk = await self._fetch(self.transport, point.identifier, dataset, last,
                                          last + timedelta(days=1), self.zone)
            except (NoData, UpstreamDenied, PeriodNotServed):
                return None
            known = chunk.step
            if known is not None:
                self._steps[(point, dataset)] = known
        return (known,) if known is not None else None

    async def _served(self, point: PointRef, dataset: Dataset,
                      fallback: Period | None) -> Period | None:
        """The served period, for an error that must name it (costs a call, errors only)."""
        try:
            return self._period(dataset, await self._activation(point.identifier))
        except UpstreamError:
            return fallback

    # ---- data --------------------------------------------------------------------------

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        prm = self._prm(point)
        if dataset not in self._offered:
            raise UnsupportedDataset(f"Data Connect {self.config.generation.value} does not "
                                     f"serve {dataset.value}.", dataset=dataset.value)
        if resolution not in self._resolutions(dataset):
            raise UnsupportedResolution(
                f"{dataset.value} comes at {', '.join(self._resolutions(dataset))}, not "
                f"{resolution.value}.", allowed=list(self._resolutions(dataset)))
        today = self._today()
        lower = at_hour(today - self._history(dataset), self.zone)
        upper = at_hour(today, self.zone)
        if period.end is None or period.end > upper:
            raise NotYetAvailable("Enedis publishes data up to the day before today.",
                                  available=await self._served(point, dataset,
                                                               Period(lower, upper)))
        if period.start < lower:
            raise BeyondHistory("The period starts before Enedis's history depth.",
                                available=await self._served(point, dataset,
                                                             Period(lower, upper)))
        first, end = days_covering(period, self.zone)
        readings: list[Reading] = []
        step = timedelta(days=self._window(dataset).days)
        day = first
        while day < end:
            upto = min(day + step, end)
            try:
                chunk = await self._fetch(self.transport, prm, dataset, day, upto, self.zone)
            except PeriodNotServed as exc:
                extra = {k: v for k, v in exc.extra.items() if k != "available"}
                raise type(exc)(exc.detail, available=await self._served(point, dataset, None),
                                **extra) from exc
            if chunk.step is not None:
                self._steps[(point, dataset)] = chunk.step
                if chunk.step is not resolution:
                    raise UnsupportedResolution(
                        f"The meter of {point} records its load curve at {chunk.step.value}.",
                        allowed=[chunk.step.value])
            readings += [r for r in chunk.timeline.readings
                         if period.start <= r.start < period.end]
            day = upto
        return Series(point, dataset, dataset.spec.unit or "", resolution, self.zone,
                      tuple(readings))

    async def record(self, point: PointRef, dataset: Dataset) -> Record:
        prm = self._prm(point)
        if dataset not in _RECORDS:
            raise UnsupportedDataset(f"{dataset.value} is not a record dataset.",
                                     dataset=dataset.value)
        if self._v5:
            fields = await v5.record(self.transport, prm, dataset)
        elif dataset is Dataset.CONTRACT:
            fields = await records.contract(self.transport, prm, self.zone)
        else:
            fields = await records.RECORDS[dataset](self.transport, prm)
        return Record(point, dataset, fields)

    async def occupancy(self, point: PointRef) -> tuple[Occupancy, ...]:
        prm = self._prm(point)
        if self._v5:
            return await v5.occupancy(self.transport, prm, self.zone)
        return await records.occupancy(self.transport, prm, self.zone)

    async def health(self) -> Health:
        """Can we obtain the application token? (Never raises.)"""
        return await token_health(self.token, self.clock)

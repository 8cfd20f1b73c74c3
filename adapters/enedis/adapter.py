"""``EnedisAdapter``: :class:`~adapters.base.MeterDataAdapter` over Enedis Data Connect.

One application token (client credentials, cached, renewed ahead of expiry) serves every
request; every request takes a turn from the shared :class:`~adapters.quota.UpstreamLimiter`
under the generation's declared quotas, counted in the bucket of the API it calls
(:attr:`EnedisConfig.quota_plan`); safe requests are retried on 5xx/429 within bounds
(:mod:`adapters.transport`). Periods are split into calls of at most 7 days for load curves and
365 days otherwise, over whole local days; history (24 months + 15 days for curves, 36 months +
15 days for daily values) and D-1 are checked before any call, the point's activation (move-in)
by Enedis itself (``ADAM-ERR0123``), and each refusal names the period that is served.

What a point serves (``describe``) is :mod:`adapters.enedis.availability`; the upstream consent
(consent page, callback, re-check) is :mod:`adapters.enedis.upstream`.
Data Connect has no meter-port API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import aiohttp

from adapters.base import Capabilities, DatasetLimits, Health, Occupancy
from adapters.enedis import consent, measures, records, v5
from adapters.enedis.availability import RECORDS, Availability, Fetcher
from adapters.enedis.config import EnedisConfig, Generation
from adapters.enedis.errors import classify
from adapters.enedis.upstream import UpstreamConsent
from adapters.errors import (
    BeyondHistory,
    NotYetAvailable,
    PeriodNotServed,
    UnknownPoint,
    UnsupportedDataset,
    UnsupportedResolution,
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
from consent.vocabulary import Dataset, Energy, Resolution

_CONSUMPTION = (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE,
                Dataset.DAILY_MAX_POWER, Dataset.CONSUMPTION_INDEX)
_PRODUCTION = (Dataset.DAILY_PRODUCTION, Dataset.PRODUCTION_LOAD_CURVE, Dataset.PRODUCTION_INDEX)


class EnedisAdapter(UpstreamConsent, Availability, OverTransport, WithoutMeterPort):
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

    async def capabilities(self) -> Capabilities:
        limits = [DatasetLimits(d, frozenset({Energy.ELECTRICITY}), self._resolutions(d),
                                self._window(d), self._history(d)) for d in self._offered]
        limits += [DatasetLimits(d, frozenset({Energy.ELECTRICITY}), (), None, None)
                   for d in RECORDS]
        name = f"enedis-dataconnect-{self.config.generation.value}"
        # The 2026 APIs say BRUT (raw) or BEST (corrected: ``etapeMetier``, reference §1.9): a
        # raw day may be corrected later, so it is not final. v5's ``quality`` knows BRUT
        # only: asking again could never tell a corrected day from a raw one, and every past
        # day would cost the quota again every few hours, for ever; its days stay cached.
        return Capabilities(name, frozenset({Source.ENEDIS}), tuple(limits),
                            self.config.declared_quotas, meter_port=False, raw_final=self._v5)

    def _prm(self, point: PointRef) -> str:
        if point.source is not Source.ENEDIS:
            raise UnknownPoint(f"Data Connect serves Enedis PRMs, not {point.source.value} "
                               "points.", point=str(point))
        return point.identifier

    def _today(self) -> date:
        return day_of(self.clock.now(), self.zone)

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
        if dataset not in RECORDS:
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

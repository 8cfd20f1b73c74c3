"""What an Enedis point serves: the availability part of :class:`~adapters.enedis.EnedisAdapter`.

A mixin over the adapter's transport, clock and zone (like :mod:`adapters.enedis.upstream`), so
that the adapter module holds the data calls only. Each dataset is served from the later of the
history depth (24 months + 15 days for curves, 36 months + 15 days for daily values) and the
point's activation for its direction, up to D-1; a curve comes at the step the meter records
(read once from the last served day, then remembered), and the subscribed services, when the
2026 consent API lists them, narrow both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from adapters.base import DatasetAvailability, PointInfo
from adapters.enedis import consent, records, v5
from adapters.enedis.config import CURVE_HISTORY, CURVE_WINDOW, DAILY_HISTORY, DAILY_WINDOW
from adapters.enedis.measures import Chunk
from adapters.enedis.records import Activation
from adapters.errors import (
    NoData,
    PeriodNotServed,
    UnsupportedDataset,
    UpstreamDenied,
    UpstreamError,
)
from adapters.timekeeping import at_hour, day_of
from adapters.transport import UpstreamTransport
from consent.identifiers import PointRef
from consent.periods import Period
from consent.vocabulary import Dataset, Direction, Energy, Resolution

CURVE_STEPS = (Resolution.PT10M, Resolution.PT15M, Resolution.PT30M, Resolution.PT1H)
CURVES = (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE)
RECORDS = (Dataset.CONTRACT, Dataset.IDENTITY, Dataset.CONTACT, Dataset.ADDRESS)

Fetcher = Callable[..., Awaitable[Chunk]]


class Availability:
    """``describe`` and the periods and steps each dataset of a point is served at."""

    transport: UpstreamTransport
    zone: str
    _v5: bool
    _fetch: Fetcher
    _offered: tuple[Dataset, ...]
    _steps: dict[tuple[PointRef, Dataset], Resolution]

    def _today(self) -> date:
        raise NotImplementedError

    def _prm(self, point: PointRef) -> str:
        raise NotImplementedError

    async def _services(self, point: PointRef) -> list[consent.Service] | None:
        raise NotImplementedError  # the adapter's (from UpstreamConsent, first in its MRO)

    @staticmethod
    def _window(dataset: Dataset) -> timedelta:
        return CURVE_WINDOW if dataset in CURVES else DAILY_WINDOW

    @staticmethod
    def _history(dataset: Dataset) -> timedelta:
        return CURVE_HISTORY if dataset in CURVES else DAILY_HISTORY

    @staticmethod
    def _resolutions(dataset: Dataset) -> tuple[Resolution, ...]:
        return CURVE_STEPS if dataset in CURVES else (Resolution.P1D,)

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
                if dataset in CURVES and len(steps) == 1:
                    step = Resolution.parse(steps.pop().replace("PT60M", "PT1H"))
                    resolutions = (step,) if step in CURVE_STEPS else resolutions
            if dataset in CURVES and period is not None and len(resolutions) > 1:
                resolutions = await self._learn_step(point, dataset, period) or resolutions
            items.append(DatasetAvailability(dataset, resolutions, period))
        items += [DatasetAvailability(d, (), None) for d in RECORDS]
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

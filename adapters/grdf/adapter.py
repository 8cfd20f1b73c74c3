"""``GrdfAdapter``: :class:`~adapters.base.MeterDataAdapter` over GRDF ADICT v2, plus the
droit d'accès lifecycle (declare, send proofs, follow, revoke).

Reads: daily consumption per gas day (06:00 to 06:00 local) from the informative data at
``P1D``, and the published (billing) consumption per meter-reading period at ``P1M``; the contract
record from ``donnees_contractuelles``, the address from ``donnees_techniques``. ADICT has no
load curve, no identity or contact data, no meter port. History is three years; data stops at the
last complete gas day.

Refusals arrive two ways (see :mod:`adapters.grdf.errors`); both become the error tree. The
bounds a refusal must name (the holder's move-in, the declared perimeter) are looked up only when
an answer does not cover the start of the period, so a normal read costs one call per 365 days.
"""

from __future__ import annotations

import asyncio
import hashlib
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
from adapters.errors import (
    BeforeMoveIn,
    BeyondHistory,
    NoData,
    NotYetAvailable,
    PeriodNotServed,
    UnknownPoint,
    UnsupportedDataset,
    UnsupportedResolution,
    UpstreamDenied,
    UpstreamError,
    UpstreamMalformed,
)
from adapters.grdf import consumption
from adapters.grdf.access import (
    current,
)
from adapters.grdf.config import HISTORY_MONTHS, WINDOW, GrdfConfig
from adapters.grdf.errors import classify
from adapters.grdf.rights import AccessRights
from adapters.grdf.vocabulary import GAS_DAY_START
from adapters.limiter import FairLimiter
from adapters.quota import UpstreamLimiter
from adapters.remote import OverTransport, WithoutMeterPort, token_health
from adapters.timekeeping import at_hour, day_of, days_covering
from adapters.tokens import ClientCredentials, TokenCache
from adapters.transport import UpstreamTransport
from consent.clock import Clock, SystemClock
from consent.identifiers import PointRef, Source
from consent.periods import Period, add_months
from consent.readings import Reading, Record, Series
from consent.vocabulary import Dataset, Direction, Energy, Resolution

_RESOLUTIONS = (Resolution.P1D, Resolution.P1M)
_RECORDS = (Dataset.CONTRACT, Dataset.ADDRESS)


class GrdfAdapter(AccessRights, OverTransport, WithoutMeterPort):
    """ADICT v2 as a meter-data adapter (see the module docstring)."""

    api_name = "ADICT"

    def __init__(self, session: aiohttp.ClientSession, config: GrdfConfig, *,
                 limiter: UpstreamLimiter | None = None, tokens: TokenCache | None = None,
                 clock: Clock | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.zone = config.timezone
        self.token = ClientCredentials(
            session, config.token_url, config.client_id, config.client_secret,
            scope=config.scope, cache=tokens, clock=self.clock,
            renew_before=config.renew_token_before, timeout=config.timeout,
            credentials_in="form")
        self.transport = UpstreamTransport(
            session, config.base_url, token=self.token, limiter=limiter or FairLimiter(),
            plan=config.quota_plan, classify=classify, timeout=config.timeout,
            retry=config.retry, sleep=sleep)

    def _today(self) -> date:
        return day_of(self.clock.now(), self.zone)

    def _last_gas_day_end(self) -> date:
        """The day whose 06:00 ends the last complete gas day."""
        return day_of(self.clock.now(), self.zone, GAS_DAY_START)

    # ---- capabilities, availability ----------------------------------------------------

    async def capabilities(self) -> Capabilities:
        gas = frozenset({Energy.GAS})
        history = self._today() - add_months(self._today(), -HISTORY_MONTHS)
        limits = (DatasetLimits(Dataset.DAILY_CONSUMPTION, gas, _RESOLUTIONS, WINDOW, history),
                  *(DatasetLimits(d, gas, (), None, None) for d in _RECORDS))
        return Capabilities("grdf-adict-v2", frozenset({Source.GRDF}), limits,
                            self.config.quotas, meter_port=False, raw_final=False)

    async def _activation(self, pce: str) -> date:
        lines = await self._lines(f"/pce/{pce}/donnees_contractuelles", api="contrat")
        if len(lines) != 1:
            raise UpstreamMalformed("ADICT sent several contracts for one PCE.", field="line[1]")
        return consumption.activation(lines[0], pce)

    async def _served(self, point: PointRef) -> tuple[Period | None, str]:
        """The period served today and what bounds its start (history, move-in, perimeter)."""
        right = current(await self.access_rights(point))
        if right is None:
            raise UnknownPoint("ADICT tells nothing about a PCE without a droit d'accès.",
                               point=str(point))
        if not right.state.usable or not right.perimeter["perim_donnees_informatives"]:
            return None, "authorisation"
        bounds = [(add_months(self._today(), -HISTORY_MONTHS), "history")]
        if right.perimeter["perim_donnees_contractuelles"]:
            try:
                bounds.append((await self._activation(point.identifier), "move-in"))
            except UpstreamDenied:
                return None, "authorisation"
        if right.data_from is not None:
            bounds.append((right.data_from, "perimeter"))
        first, reason = max(bounds, key=lambda b: b[0])  # on a tie, the earlier-listed reason
        last = self._last_gas_day_end()
        if right.data_until is not None:
            last = min(last, right.data_until + timedelta(days=1))
        if not first < last:
            return None, reason
        return Period(at_hour(first, self.zone), at_hour(last, self.zone, GAS_DAY_START)), reason

    async def describe(self, point: PointRef) -> PointInfo:
        self._pce(point)
        period, _ = await self._served(point)
        items = (DatasetAvailability(Dataset.DAILY_CONSUMPTION, _RESOLUTIONS, period),
                 *(DatasetAvailability(d, (), None) for d in _RECORDS))
        return PointInfo(point, Energy.GAS, frozenset({Direction.CONSUMPTION}), self.zone,
                         items)

    # ---- data --------------------------------------------------------------------------

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        pce = self._pce(point)
        if dataset is not Dataset.DAILY_CONSUMPTION:
            raise UnsupportedDataset(f"ADICT does not serve {dataset.value}.",
                                     dataset=dataset.value)
        if resolution not in _RESOLUTIONS:
            raise UnsupportedResolution("ADICT serves gas days (P1D, informative) and "
                                        "meter-reading periods (P1M, published).",
                                        allowed=[r.value for r in _RESOLUTIONS])
        today = self._today()
        lower = at_hour(add_months(today, -HISTORY_MONTHS), self.zone)
        upper = at_hour(self._last_gas_day_end(), self.zone, GAS_DAY_START)
        if period.end is None or period.end > upper:
            raise NotYetAvailable("ADICT serves data up to the last complete gas day.",
                                  available=await self._available(point, Period(lower, upper)))
        if period.start < lower:
            raise BeyondHistory("ADICT serves three years of history.",
                                available=await self._available(point, Period(lower, upper)))
        first, end = days_covering(period, self.zone, GAS_DAY_START)
        readings = await self._read(pce, first, end, resolution)
        kept = [r for r in readings if period.start <= r.start < period.end]
        if resolution is Resolution.P1D and (
                not kept or kept[0].start > period.start + timedelta(days=1)):
            await self._explain_missing_start(point, period)
        if not kept:
            raise NoData("ADICT has no data for this PCE over that period.")
        return Series(point, dataset, "Wh", resolution, self.zone, tuple(kept))

    async def _read(self, pce: str, first: date, end: date,
                    resolution: Resolution) -> list[Reading]:
        informative = resolution is Resolution.P1D
        path = f"/pce/{pce}/donnees_consos_{'informatives' if informative else 'publiees'}"
        out: list[Reading] = []
        day = first
        while day < end:
            upto = min(day + WINDOW, end)
            try:
                lines = await self._lines(path, api="consommation", params={
                    "date_debut": day.isoformat(), "date_fin": upto.isoformat()})
            except NoData:
                lines = []
            for line in lines:
                gas_day = consumption.gas_day(line) if informative else None
                if gas_day is not None and not day <= gas_day < upto:
                    continue  # date_fin may be inclusive: keep only the days asked for
                reading = consumption.reading(line, pce, self.zone, informative)
                if reading is None:
                    continue
                if out and reading.start < out[-1].end:
                    raise UpstreamMalformed("ADICT sent overlapping or unordered values.",
                                            field=line.path)
                out.append(reading)
            day = upto
        return out

    async def _available(self, point: PointRef, fallback: Period) -> Period | None:
        try:
            return (await self._served(point))[0]
        except UpstreamError:
            return fallback

    async def _explain_missing_start(self, point: PointRef, period: Period) -> None:
        """The answer does not cover the period's start: say which bound it crossed."""
        served, reason = await self._served(point)
        if served is None:
            raise NoData("ADICT has no data for this PCE over that period.")
        if period.start < served.start:
            error = BeforeMoveIn if reason == "move-in" else \
                BeyondHistory if reason == "history" else PeriodNotServed
            raise error(f"The period starts before {served.start.date().isoformat()}, the first "
                        f"day served ({reason}).", available=served)

    async def record(self, point: PointRef, dataset: Dataset) -> Record:
        pce = self._pce(point)
        if dataset is Dataset.CONTRACT:
            lines = await self._lines(f"/pce/{pce}/donnees_contractuelles", api="contrat")
            return Record(point, dataset, consumption.contract_fields(lines[0], pce))
        if dataset is Dataset.ADDRESS:
            lines = await self._lines(f"/pce/{pce}/donnees_techniques", api="technique")
            return Record(point, dataset, consumption.address_fields(lines[0], pce))
        raise UnsupportedDataset(f"ADICT does not serve {dataset.value}.",
                                 dataset=dataset.value)

    async def occupancy(self, point: PointRef) -> tuple[Occupancy, ...]:
        """The current holder since the supply contract started (``date_mes``); ADICT gives no
        customer id, so the reference is derived from the PCE and that date."""
        pce = self._pce(point)
        since = await self._activation(pce)
        digest = hashlib.sha256(f"{pce}|{since.isoformat()}".encode()).hexdigest()[:16]
        return (Occupancy(f"grdf-{digest}", Period(at_hour(since, self.zone))),)

    async def health(self) -> Health:
        """Can we obtain the application token? (Never raises.)"""
        return await token_health(self.token, self.clock)


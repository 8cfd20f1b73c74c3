"""``SimulatorAdapter``: the in-process :class:`~adapters.base.MeterDataAdapter` over a simulator.

Used by the embedded default ``passerelle serve``: no network, same answers and same errors as
the in-house HTTP client talking to the same simulator. Faults of the simulator's plan apply
here too, translated as the HTTP client would see them: latency (and timeouts) against this
adapter's ``timeout``, 429 as :class:`UpstreamRateLimited`, 5xx as :class:`UpstreamUnavailable`.
Truncated and malformed bodies need a wire and only happen over HTTP.

The simulator announces no quota; a subclass (or a test) whose capabilities declare some gets
every call counted by :attr:`SimulatorAdapter.limiter` as the in-house client counts it (same
route families), and a simulated 429 holds the bucket for its ``Retry-After``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from adapters.base import (
    Capabilities,
    Health,
    HealthState,
    Occupancy,
    PointInfo,
    PortAction,
    PortRequest,
    PortStatus,
    UpstreamAuthorisation,
)
from adapters.errors import UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable
from adapters.inhouse.wire import ROUTE_FAMILIES
from adapters.limiter import FairLimiter
from adapters.quota import QuotaPlan, UpstreamLimiter, current_recipient, heed
from adapters.simulator.faults import FaultKind
from adapters.simulator.simulator import Simulator
from consent.identifiers import PointRef
from consent.periods import Period
from consent.readings import Record, Series
from consent.vocabulary import Dataset, Resolution

T = TypeVar("T")


class SimulatorAdapter:
    """The simulator as an adapter; ``timeout`` (seconds) bounds every call, faults included."""

    def __init__(self, simulator: Simulator, *, timeout: float = 10.0,
                 limiter: UpstreamLimiter | None = None) -> None:
        self.simulator = simulator
        self.timeout = timeout
        self.limiter = limiter or FairLimiter()
        self._plan: QuotaPlan | None = None

    async def _call(self, family: str, func: Callable[[], T]) -> T:
        plan = self._plan
        if plan is None:
            caps = await self.capabilities()
            plan = self._plan = QuotaPlan(caps.name, caps.quotas, ROUTE_FAMILIES)
        await self.limiter.acquire(plan, family, current_recipient())
        fault = self.simulator.faults.draw()
        try:
            async with asyncio.timeout(self.timeout):
                if fault is not None and fault.kind in (FaultKind.LATENCY, FaultKind.TIMEOUT):
                    await asyncio.sleep(fault.delay)
                    if fault.kind is FaultKind.TIMEOUT:
                        raise TimeoutError
        except TimeoutError:
            raise UpstreamTimeout(f"The simulated DSO did not answer within {self.timeout} s."
                                  ) from None
        error: UpstreamUnavailable | None = None
        if fault is not None and fault.kind is FaultKind.RATE_LIMITED:
            error = UpstreamRateLimited("The simulated DSO's quota is reached.",
                                        retry_after=fault.retry_after)
        elif fault is not None and fault.kind is FaultKind.UNAVAILABLE:
            error = UpstreamUnavailable(f"The simulated DSO failed (HTTP {fault.status}).",
                                        retry_after=fault.retry_after)
        await heed(self.limiter, plan, family, error)
        if error is not None:
            raise error
        return func()

    async def capabilities(self) -> Capabilities:
        return self.simulator.capabilities()

    async def describe(self, point: PointRef) -> PointInfo:
        return await self._call("points", lambda: self.simulator.describe(point))

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        return await self._call("series", lambda: self.simulator.series(point, dataset, period,
                                                                          resolution))

    async def record(self, point: PointRef, dataset: Dataset) -> Record:
        return await self._call("records", lambda: self.simulator.record(point, dataset))

    async def authorisation(self, point: PointRef) -> UpstreamAuthorisation | None:
        return await self._call("authorisation", lambda: self.simulator.authorisation(point))

    async def occupancy(self, point: PointRef) -> tuple[Occupancy, ...]:
        return await self._call("occupancy", lambda: self.simulator.occupancy(point))

    async def port_state(self, point: PointRef) -> PortStatus:
        return await self._call("port", lambda: self.simulator.port_state(point))

    async def request_port(self, point: PointRef, action: PortAction) -> PortRequest:
        return await self._call("port", lambda: self.simulator.request_port(point, action))

    async def port_request(self, point: PointRef, request_id: str) -> PortRequest:
        return await self._call("port", lambda: self.simulator.port_request(point, request_id))

    async def check_meter_number(self, point: PointRef, meter_number: str) -> bool:
        return await self._call("meter-number",
                                lambda: self.simulator.check_meter_number(point, meter_number))

    async def health(self) -> Health:
        return Health(HealthState.OK, "in-process simulator", self.simulator.now())

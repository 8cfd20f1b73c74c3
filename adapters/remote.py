"""What the remote DSO adapters over :class:`~adapters.transport.UpstreamTransport` share: the
limiter they take turns from, the port refusals, token health."""

from __future__ import annotations

from typing import ClassVar

from adapters.base import Health, HealthState, PortAction, PortRequest, PortStatus
from adapters.errors import Unsupported, UpstreamCredentialsRejected, UpstreamError
from adapters.quota import UpstreamLimiter
from adapters.tokens import ClientCredentials
from adapters.transport import UpstreamTransport
from consent.clock import Clock
from consent.identifiers import PointRef


class OverTransport:
    """An adapter whose every DSO request goes through ``transport`` (so through its limiter):
    :class:`~adapters.quota.Limited`, the proxy swapping in its shared limiter."""

    transport: UpstreamTransport

    @property
    def limiter(self) -> UpstreamLimiter:
        return self.transport.limiter

    @limiter.setter
    def limiter(self, limiter: UpstreamLimiter) -> None:
        self.transport.limiter = limiter


class WithoutMeterPort:
    """The meter-port part of :class:`~adapters.base.MeterDataAdapter` for DSOs whose API has
    none (Data Connect, ADICT): every call raises :class:`Unsupported` naming the API."""

    api_name: ClassVar[str] = "This DSO's API"

    def _no_port(self) -> Unsupported:
        return Unsupported(f"{self.api_name} offers no access to the meter's customer port.")

    async def port_state(self, point: PointRef) -> PortStatus:
        raise self._no_port()

    async def request_port(self, point: PointRef, action: PortAction) -> PortRequest:
        raise self._no_port()

    async def port_request(self, point: PointRef, request_id: str) -> PortRequest:
        raise self._no_port()


async def token_health(token: ClientCredentials, clock: Clock) -> Health:
    """Can the application token be obtained? Down if the DSO refuses our credentials,
    degraded if it cannot answer. Never raises."""
    now = clock.now()
    try:
        await token.bearer()
    except UpstreamCredentialsRejected as error:
        return Health(HealthState.DOWN, error.title, now)
    except UpstreamError as error:
        return Health(HealthState.DEGRADED, error.title, now)
    return Health(HealthState.OK, "application token available", now)

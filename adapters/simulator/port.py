"""The meter's customer port (R20): its state and open/close requests that complete later.

A request completes ``delay`` after it was made, measured on the injected clock, so tests move the
clock instead of sleeping. The port state is derived, never stored twice: the profile's initial
state, then every completed request in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.base import PortAction, PortRequest, PortRequestStatus, PortState, PortStatus
from adapters.simulator.weather import mix
from consent.clock import Clock
from consent.errors import Conflict, NotFound
from consent.identifiers import PointRef


@dataclass(frozen=True, slots=True)
class _Filed:
    request_id: str
    action: PortAction
    requested_at: datetime


class PortDesk:
    """The DSO's desk for port requests, for every point of one simulator."""

    def __init__(self, clock: Clock, delay: timedelta, seed: int = 0) -> None:
        self._clock = clock
        self._delay = delay
        self._seed = seed
        self._filed: dict[PointRef, list[_Filed]] = {}
        self._count = 0

    def _view(self, point: PointRef, filed: _Filed) -> PortRequest:
        done_at = filed.requested_at + self._delay
        completed = self._clock.now() >= done_at
        return PortRequest(
            request_id=filed.request_id, point=point, action=filed.action,
            status=PortRequestStatus.COMPLETED if completed else PortRequestStatus.PENDING,
            requested_at=filed.requested_at, completed_at=done_at if completed else None)

    def status(self, point: PointRef, initial: PortState) -> PortStatus:
        """The port's state now, and the pending request if there is one."""
        state, pending = initial, None
        for filed in self._filed.get(point, []):
            view = self._view(point, filed)
            if view.status is PortRequestStatus.COMPLETED:
                state = filed.action.target
            else:
                pending = filed.request_id
        return PortStatus(point, state, pending)

    def request(self, point: PointRef, initial: PortState, action: PortAction) -> PortRequest:
        """File a request; :class:`Conflict` while another one for the point is pending."""
        if self.status(point, initial).pending_request is not None:
            raise Conflict(f"A port request for {point} is still pending; wait for it to "
                           "complete.", field="action")
        self._count += 1
        filed = _Filed(f"PR{mix(self._seed, self._count) % 16**12:012X}", action,
                       self._clock.now())
        self._filed.setdefault(point, []).append(filed)
        return self._view(point, filed)

    def get(self, point: PointRef, request_id: str) -> PortRequest:
        """An earlier request of ``point``; :class:`NotFound` otherwise."""
        for filed in self._filed.get(point, []):
            if filed.request_id == request_id:
                return self._view(point, filed)
        raise NotFound(f"No port request {request_id!r} for {point}.", field="request_id")

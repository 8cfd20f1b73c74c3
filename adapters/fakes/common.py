"""What every fake DSO server shares: tokens, quota enforcement, a request log, faults, serving.

* :class:`TokenDesk` issues opaque bearer tokens for client credentials (RFC 6749 §4.4) and
  checks them, on the simulator's clock.
* :class:`QuotaGate` counts request arrivals like a DSO does and refuses (429) the one that
  would exceed a declared quota in any window; every arrival is kept in :attr:`QuotaGate.log`,
  so a test can verify at the server that a client never exceeded a quota.
* :func:`fault_middleware` applies the simulator's :class:`~adapters.simulator.FaultPlan` to the
  DSO's API routes, rendering each fault the way that DSO would (its 429 and 5xx bodies, a body
  cut in half, a body with a wrong member).
* :func:`serve` runs an app on 127.0.0.1 at a free port.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from adapters.base import Quota
from adapters.simulator.faults import Fault, FaultKind, FaultPlan
from consent.clock import Clock


class TokenDesk:
    """Client-credentials tokens of one fake DSO: who may ask, and which tokens are live."""

    def __init__(self, clients: dict[str, str], clock: Clock, lifetime: timedelta) -> None:
        self.clients = clients
        self.clock = clock
        self.lifetime = lifetime
        self._tokens: dict[str, datetime] = {}
        self.issued = 0

    def credentials(self, request: web.Request, form: dict[str, str]) -> str | None:
        """The client id if the Basic header or the form carries valid credentials."""
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            raw_id, _, raw_secret = decoded.partition(":")
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        expected = self.clients.get(client_id or "")
        if expected is None or secret is None or not secrets.compare_digest(
                expected.encode(), secret.encode()):
            return None
        return client_id

    def issue(self) -> str:
        now = self.clock.now()
        for stale in [t for t, expiry in self._tokens.items() if expiry <= now]:
            del self._tokens[stale]
        token = secrets.token_urlsafe(32)
        self._tokens[token] = now + self.lifetime
        self.issued += 1
        return token

    def valid(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expiry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        return expiry is not None and expiry > self.clock.now()

    def revoke_all(self) -> None:
        """Forget every token (a DSO may revoke tokens before they expire)."""
        self._tokens.clear()


@dataclass(frozen=True, slots=True)
class Arrival:
    """One API request as the fake DSO saw it arrive (``at`` is ``time.monotonic()``)."""

    at: float
    api: str
    path: str
    admitted: bool


@dataclass
class QuotaGate:
    """The DSO's own quota counter: arrivals per window, per application and per API."""

    quotas: tuple[Quota, ...] = ()
    log: list[Arrival] = field(default_factory=list)
    monotonic: Callable[[], float] = time.monotonic
    _windows: dict[tuple[str, int], deque[float]] = field(default_factory=dict)

    def admit(self, api: str, path: str) -> bool:
        """Count an arrival; False if it would exceed a quota (the DSO answers 429)."""
        now = self.monotonic()
        checks = []
        for index, quota in enumerate(self.quotas):
            key = (api if quota.scope == "api" else "*", index)
            window = self._windows.setdefault(key, deque())
            period = quota.per.total_seconds()
            while window and window[0] <= now - period:
                window.popleft()
            checks.append((window, quota.requests))
        admitted = all(len(window) < limit for window, limit in checks)
        if admitted:
            for window, _ in checks:
                window.append(now)
        self.log.append(Arrival(now, api, path, admitted))
        return admitted

    def busiest(self, quota: Quota, api: str | None = None) -> int:
        """Most admitted arrivals in any window of ``quota.per`` (of ``api``, or of all APIs)."""
        times = [a.at for a in self.log if a.admitted and (api is None or a.api == api)]
        period = quota.per.total_seconds()
        best, first = 0, 0
        for last, at in enumerate(times):
            while times[first] <= at - period:
                first += 1
            best = max(best, last - first + 1)
        return best

    def apis(self) -> set[str]:
        return {a.api for a in self.log}


#: Renders a fault as the DSO would answer this request.
FaultRenderer = Callable[[web.Request, Fault], web.Response]
#: Damages a successful answer for a TRUNCATED or MALFORMED fault.
Damager = Callable[[web.Response, Fault], web.Response]


def cut_in_half(response: web.Response) -> web.Response:
    """The body stops half-way while the headers announce it whole: a truncated answer."""
    body = response.body if isinstance(response.body, bytes) else b""
    return web.Response(body=body[: len(body) // 2], status=response.status,
                        content_type=response.content_type)


def fault_middleware(faults: FaultPlan, is_api: Callable[[web.Request], bool],
                     render: FaultRenderer, damage: Damager) -> Middleware:
    """Draw one fault per API request from ``faults`` and apply it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_api(request):
            return await handler(request)
        fault = faults.draw()
        if fault is None:
            return await handler(request)
        if fault.kind in (FaultKind.RATE_LIMITED, FaultKind.UNAVAILABLE):
            return render(request, fault)
        if fault.kind in (FaultKind.LATENCY, FaultKind.TIMEOUT):
            await asyncio.sleep(fault.delay)
            if fault.kind is FaultKind.TIMEOUT:
                return render(request, fault)
            return await handler(request)
        response = await handler(request)
        if isinstance(response, web.Response) and 200 <= response.status < 300:
            return damage(response, fault)
        return response

    return middleware


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 at a free port; yield its base URL."""
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def weekdays(names: Iterable[str]) -> frozenset[int]:
    """Weekday numbers (Monday 0) from English names, for gap configuration."""
    order = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return frozenset(order.index(n.lower()) for n in names)

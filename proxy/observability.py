"""The HTTP edge's own telemetry: request metrics, denial counts, ``/metrics``, the access log.

:func:`metrics_middleware` runs innermost (next to the handler), so it sees the exceptions the
error middleware will render: a :class:`~consent.errors.PasserelleError` with status 401, 403 or
429 counts as a denial under its ``code`` and ``rule``. Every request is counted by *route
template* (``/v1/points/{ref}``), never by path.

``/metrics`` speaks the Prometheus text format. With a metrics token configured
(``PASSERELLE_METRICS_TOKEN`` or ``_FILE``) it needs ``Authorization: Bearer <token>``; without
one it answers only a direct loopback peer that came through no proxy, so an instance never
publishes its telemetry by accident.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from consent.errors import PasserelleError
from proxy.keys import metrics_key, settings_key
from proxy.metrics import UNMATCHED_ROUTE, Metrics, method_label
from proxy.middlewares import PROBLEM_JSON

#: Error statuses that mean "a rule refused", as opposed to malformed input or a failure.
DENIAL_STATUSES = frozenset({401, 403, 429})


def route_label(request: web.BaseRequest) -> str:
    """The matched route's template, or ``unmatched`` (404s from scanners, bad methods, and
    requests aiohttp's parser refused before any routing: an over-long line, a bad header)."""
    try:
        match_info = request.match_info  # type: ignore[attr-defined]
    except (AttributeError, AssertionError):
        # A parser-refused request was never routed: aiohttp's ``match_info`` asserts on it
        # (and a bare ``BaseRequest`` has none). The access log must not crash on it.
        return UNMATCHED_ROUTE
    resource = match_info.route.resource if match_info is not None else None
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


def _rule_of(error: PasserelleError) -> str:
    rule = getattr(error, "rule", "")
    return rule[:60] if isinstance(rule, str) else ""


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request; count raised denials by code and rule."""
    metrics = request.app[metrics_key]
    started = time.perf_counter()
    status = 500
    metrics.http_in_flight.inc()
    try:
        response = await handler(request)
        status = response.status
        return response
    except PasserelleError as error:
        status = error.status
        if status in DENIAL_STATUSES:
            metrics.child(metrics.denials, error.code, _rule_of(error)).inc()
        raise
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.http_in_flight.dec()
        method, route = method_label(request.method), route_label(request)
        metrics.child(metrics.http_requests, method, route, str(status)).inc()
        metrics.child(metrics.http_duration, method, route).observe(time.perf_counter() - started)


def _direct_loopback(request: web.Request) -> bool:
    """True if the TCP peer itself is loopback and no proxy forwarded the request."""
    if any(h in request.headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-IP")):
        return False
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not peer:
        return False
    try:
        return ipaddress.ip_address(peer[0]).is_loopback
    except ValueError:  # a Unix socket path
        return False


async def metrics_endpoint(request: web.Request) -> web.Response:
    """Prometheus exposition of this replica's metrics (scrape every replica)."""
    token = request.app[settings_key].metrics_token
    if token:
        sent = request.headers.get("Authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            return _problem(401, "Unauthorized", "The metrics token is missing or wrong.",
                            {"WWW-Authenticate": 'Bearer realm="metrics"'})
    elif not _direct_loopback(request):
        return _problem(403, "Forbidden", "Metrics are served to loopback peers only, unless "
                                          "a metrics token is configured.")
    body = generate_latest(request.app[metrics_key].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _problem(status: int, title: str, detail: str,
             headers: dict[str, str] | None = None) -> web.Response:
    # Returned, not raised: the error middleware keeps only a few headers of HTTP exceptions
    # and a 401 must carry its challenge (RFC 9110 §15.5.2, RFC 6750 §3).
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return web.json_response(body, status=status, content_type=PROBLEM_JSON, headers=headers)


def setup_metrics(app: web.Application) -> Metrics:
    """Give ``app`` its own metrics registry (``app[metrics_key]``)."""
    metrics = Metrics()
    app[metrics_key] = metrics
    return metrics


class SafeAccessLogger(AbstractAccessLogger):
    """aiohttp's access log without personal data: method, route template, status, duration,
    size and request id; no path, query, client address, referrer or user agent. Pass it as
    ``access_log_class`` to ``web.run_app``."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        method, route = method_label(request.method), route_label(request)
        self.logger.info(
            "%s %s %s", method, route, response.status,
            extra={"method": method, "route": route, "status": response.status,
                   "duration_ms": round(time * 1000, 2), "bytes": response.body_length,
                   "request_id": response.headers.get("X-Request-Id", "")})

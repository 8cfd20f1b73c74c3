"""The in-house DSO API served over HTTP by the simulator (``passerelle simulator``).

This is the reference implementation of ``docs/inhouse-dso-api.md``: an operator that is itself
a DSO implements the same routes over its metering system, and Passerelle's in-house client
(:mod:`adapters.inhouse.client`) talks to either. Auth is OAuth 2.0 client credentials
(RFC 6749 §4.4) with opaque bearer tokens (RFC 6750); errors are problem+json (RFC 9457) with a
stable ``code`` member; faults of the simulator's :class:`FaultPlan` apply to ``/api/v1/points``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import secrets
from dataclasses import replace
from datetime import datetime
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.base import PortAction
from adapters.errors import UnknownPoint, WindowTooLong
from adapters.inhouse import wire
from adapters.inhouse.admin import add_admin_routes
from adapters.inhouse.config import ServerConfig
from adapters.inhouse.keys import config_key, simulator_key, tokens_key
from adapters.simulator.faults import Fault, FaultKind
from adapters.simulator.simulator import Simulator
from consent.errors import DomainError, InvalidPeriod, PasserelleError
from consent.identifiers import PointRef
from consent.periods import Period
from consent.vocabulary import Dataset, Resolution

log = logging.getLogger("passerelle.simulator")

PROBLEM_JSON = "application/problem+json"
_DATA_PREFIX = wire.API_PREFIX + "/points/"


def problem(error: PasserelleError, path: str) -> web.Response:
    """``error`` as problem+json, with its stable ``code`` and any ``Retry-After``."""
    body = {**error.to_problem(instance=path), "code": error.code}
    return web.json_response(body, status=error.status, content_type=PROBLEM_JSON,
                             headers=getattr(error, "headers", None))


def _plain_problem(status: int, code: str, detail: str,
                   headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "about:blank", "title": code, "status": status, "detail": detail,
            "code": code}
    return web.json_response(body, status=status, content_type=PROBLEM_JSON, headers=headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render the error tree as problem+json; never a stack trace."""
    try:
        return await handler(request)
    except PasserelleError as error:
        return problem(error, request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _plain_problem(exc.status, "http-" + str(exc.status), exc.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _plain_problem(500, "internal-error", "An unexpected error occurred.")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every ``/api/v1`` route but health needs a valid bearer token (RFC 6750 §3)."""
    if request.path.startswith(wire.API_PREFIX) and request.path != wire.API_PREFIX + "/health":
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expiry = request.app[tokens_key].get(token) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= request.app[simulator_key].now():
            return _plain_problem(401, "invalid-token", "A valid bearer token is required.",
                                  {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return await handler(request)


def _damage(response: web.Response, fault: Fault) -> web.Response:
    body = response.body if isinstance(response.body, bytes) else b""
    if fault.kind is FaultKind.TRUNCATED:
        damaged = body[: len(body) // 2]
    else:
        document = json.loads(body)
        if isinstance(document.get("values"), list) and document["values"]:
            document["values"][0]["value"] = "null"  # the Data Connect quirk, on purpose
        elif document:
            document.pop(next(iter(document)))
        damaged = json.dumps(document).encode()
    return web.Response(body=damaged, status=response.status, content_type="application/json")


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the simulator's next fault to data requests (``/api/v1/points/...``)."""
    if not request.path.startswith(_DATA_PREFIX):
        return await handler(request)
    fault = request.app[simulator_key].faults.draw()
    if fault is None:
        return await handler(request)
    retry = {"Retry-After": str(fault.retry_after)}
    if fault.kind is FaultKind.RATE_LIMITED:
        return _plain_problem(429, "rate-limited", "Quota reached.", retry)
    if fault.kind is FaultKind.UNAVAILABLE:
        return _plain_problem(fault.status, "unavailable", "Technical error.", retry)
    if fault.kind in (FaultKind.LATENCY, FaultKind.TIMEOUT):
        await asyncio.sleep(fault.delay)
        if fault.kind is FaultKind.TIMEOUT:
            return _plain_problem(504, "timeout", "The metering system did not answer.")
        return await handler(request)
    response = await handler(request)
    if isinstance(response, web.Response) and response.status == 200:
        return _damage(response, fault)
    return response


# ---- token endpoint ----------------------------------------------------------------------

def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status,
                             headers={"Cache-Control": "no-store"})


async def token(request: web.Request) -> web.Response:
    """``POST /oauth/token``: client credentials (RFC 6749 §4.4), Basic or form credentials."""
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is served.")
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:], validate=True).decode()
            # RFC 6749 §2.3.1: both parts are form-encoded inside the Basic credentials.
            client_id, _, client_secret = (unquote_plus(p) for p in decoded.partition(":"))
        except (binascii.Error, UnicodeDecodeError):
            return _oauth_error(401, "invalid_client", "Malformed Basic credentials.")
    config = request.app[config_key]
    expected = config.clients.get(str(client_id)) if isinstance(client_id, str) else None
    if expected is None or not isinstance(client_secret, str) or not secrets.compare_digest(
            expected.encode(), client_secret.encode()):
        return _oauth_error(401, "invalid_client", "Unknown client or wrong secret.")
    now = request.app[simulator_key].now()
    tokens = request.app[tokens_key]
    for stale in [t for t, expiry in tokens.items() if expiry <= now]:
        del tokens[stale]
    issued = secrets.token_urlsafe(32)
    tokens[issued] = now + config.token_lifetime
    return web.json_response({"access_token": issued, "token_type": "Bearer",
                              "expires_in": int(config.token_lifetime.total_seconds())},
                             headers={"Cache-Control": "no-store"})


# ---- API handlers --------------------------------------------------------------------------

def _point(request: web.Request) -> PointRef:
    point = PointRef.parse(request.match_info["point"])
    if point.source not in request.app[config_key].sources:
        raise UnknownPoint(f"This DSO does not serve {point.source.value} points.")
    return point


def _instant(request: web.Request, name: str) -> datetime:
    text = request.query.get(name, "")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidPeriod(f"{name} must be an RFC 3339 instant, got {text!r}.",
                            field=name) from None
    if value.tzinfo is None:
        raise InvalidPeriod(f"{name} must carry a UTC offset.", field=name)
    return value


async def health(request: web.Request) -> web.Response:
    now = request.app[simulator_key].now()
    return web.json_response({"status": "ok", "time": wire.instant(now)})


async def capabilities(request: web.Request) -> web.Response:
    config = request.app[config_key]
    caps = request.app[simulator_key].capabilities()
    limits = tuple(replace(d, max_window=config.window(d.dataset) if d.resolutions else None)
                   for d in caps.datasets)
    announced = replace(caps, name="inhouse", sources=config.sources, datasets=limits,
                        quotas=config.quotas)
    return web.json_response(wire.capabilities(announced))


async def describe(request: web.Request) -> web.Response:
    return web.json_response(wire.point_info(request.app[simulator_key].describe(_point(request))))


async def series(request: web.Request) -> web.Response:
    point = _point(request)
    dataset = Dataset.parse(request.match_info["dataset"])
    resolution = Resolution.parse(request.query.get("resolution", ""))
    period = Period(_instant(request, "start"), _instant(request, "end"))
    assert period.end is not None
    window = request.app[config_key].window(dataset)
    if period.end - period.start > window:
        raise WindowTooLong(f"One call covers at most {window.days} days of {dataset.value}.",
                            max_window_days=window.days)
    result = request.app[simulator_key].series(point, dataset, period, resolution)
    return web.json_response(result.to_json())


async def record(request: web.Request) -> web.Response:
    point = _point(request)
    dataset = Dataset.parse(request.match_info["dataset"])
    return web.json_response(request.app[simulator_key].record(point, dataset).to_json())


async def authorisation(request: web.Request) -> web.Response:
    point = _point(request)
    auth = request.app[simulator_key].authorisation(point)
    return web.json_response(wire.authorisation(str(point), auth))


async def occupancy(request: web.Request) -> web.Response:
    point = _point(request)
    return web.json_response(wire.occupancy(str(point),
                                            request.app[simulator_key].occupancy(point)))


async def port_state(request: web.Request) -> web.Response:
    return web.json_response(wire.port_status(
        request.app[simulator_key].port_state(_point(request))))


async def request_port(request: web.Request) -> web.Response:
    point = _point(request)
    try:
        body = await request.json()
        action = PortAction(body["action"])
    except (ValueError, KeyError, TypeError):
        raise DomainError('The body must be {"action": "open"} or {"action": "close"}.',
                          field="action") from None
    filed = request.app[simulator_key].request_port(point, action)
    return web.json_response(wire.port_request(filed), status=202)


async def port_request(request: web.Request) -> web.Response:
    point = _point(request)
    filed = request.app[simulator_key].port_request(point, request.match_info["request_id"])
    return web.json_response(wire.port_request(filed))


async def check_meter_number(request: web.Request) -> web.Response:
    point = _point(request)
    try:
        body = await request.json()
        typed = body["meter_number"]
        if not isinstance(typed, str) or not 1 <= len(typed) <= 64:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise DomainError('The body must be {"meter_number": "..."}.',
                          field="meter_number") from None
    match = request.app[simulator_key].check_meter_number(point, typed)
    return web.json_response({"point": str(point), "match": match})


def create_inhouse_app(simulator: Simulator, config: ServerConfig) -> web.Application:
    """The in-house DSO API over ``simulator``."""
    app = web.Application(middlewares=[problem_middleware, auth_middleware, fault_middleware],
                          client_max_size=64 * 1024)
    app[simulator_key] = simulator
    app[config_key] = config
    app[tokens_key] = {}
    points = wire.API_PREFIX + "/points/{point}"
    app.router.add_post("/oauth/token", token)
    app.router.add_get(wire.API_PREFIX + "/health", health)
    app.router.add_get(wire.API_PREFIX + "/capabilities", capabilities)
    app.router.add_get(points, describe)
    app.router.add_get(points + "/series/{dataset}", series)
    app.router.add_get(points + "/records/{dataset}", record)
    app.router.add_get(points + "/authorisation", authorisation)
    app.router.add_get(points + "/occupancy", occupancy)
    app.router.add_get(points + "/port", port_state)
    app.router.add_post(points + "/port/requests", request_port)
    app.router.add_get(points + "/port/requests/{request_id}", port_request)
    app.router.add_post(points + "/meter-number/check", check_meter_number)
    add_admin_routes(app)
    return app

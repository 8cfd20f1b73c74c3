"""Admin endpoints of the simulator's server: faults and upstream-authorisation overrides.

Enabled only when an admin token is configured; compared in constant time. Not part of the
in-house DSO contract: a real DSO has no such routes.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from adapters.inhouse.keys import config_key, simulator_key
from adapters.simulator.faults import Fault
from consent.errors import DomainError
from consent.identifiers import PointRef
from consent.upstream import UpstreamState


def _require_admin(request: web.Request) -> None:
    expected = request.app[config_key].admin_token
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if expected is None:
        raise web.HTTPNotFound()
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.encode(),
                                                                expected.encode()):
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="admin"'})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise DomainError("The body must be a JSON object.", field="body") from None
    if not isinstance(body, dict):
        raise DomainError("The body must be a JSON object.", field="body")
    return body


async def get_faults(request: web.Request) -> web.Response:
    """``GET /admin/faults``: the current fault plan."""
    _require_admin(request)
    return web.json_response(request.app[simulator_key].faults.to_json())


async def add_fault(request: web.Request) -> web.Response:
    """``POST /admin/faults``: ``{"kind", "count"}`` or ``{"kind", "probability"}`` plus
    optional ``delay`` (s), ``status`` (5xx) and ``retry_after`` (s)."""
    _require_admin(request)
    body = await _body(request)
    params = {k: body[k] for k in ("delay", "status", "retry_after") if k in body}
    plan = request.app[simulator_key].faults
    try:
        fault = Fault.of(str(body.get("kind")), **params)
        if "probability" in body:
            plan.sometimes(fault, float(body["probability"]))
        else:
            plan.next(fault, int(body.get("count", 1)))
    except (ValueError, TypeError):
        raise DomainError("kind must be one of latency, rate_limited, unavailable, timeout, "
                          "truncated, malformed; count, probability, delay, status and "
                          "retry_after must be numbers.", field="kind") from None
    return web.json_response(plan.to_json(), status=201)


async def clear_faults(request: web.Request) -> web.Response:
    """``DELETE /admin/faults``: no more faults."""
    _require_admin(request)
    request.app[simulator_key].faults.clear()
    return web.json_response(request.app[simulator_key].faults.to_json())


async def set_authorisation(request: web.Request) -> web.Response:
    """``PUT /admin/points/{point}/authorisation`` ``{"state": "revoked"}`` (null restores)."""
    _require_admin(request)
    point = PointRef.parse(request.match_info["point"])
    state = (await _body(request)).get("state")
    try:
        parsed = UpstreamState(state) if state is not None else None
    except ValueError:
        raise DomainError(f"Unknown authorisation state {state!r}.", field="state") from None
    simulator = request.app[simulator_key]
    simulator.set_authorisation(point, parsed)
    return web.json_response({"point": str(point), "state": simulator.authorisation_state(point)})


def add_admin_routes(app: web.Application) -> None:
    """Register the admin routes on ``app``."""
    app.router.add_get("/admin/faults", get_faults)
    app.router.add_post("/admin/faults", add_fault)
    app.router.add_delete("/admin/faults", clear_faults)
    app.router.add_put("/admin/points/{point}/authorisation", set_authorisation)

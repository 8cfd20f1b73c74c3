"""The fake GRDF ADICT v2: the OAuth token endpoint (client credentials with scope) and the API
under ``/adict/v2``, with bearer checks, an optional quota, and the simulator's faults rendered
as ADICT would (status bodies; NDJSON cut in half or with a broken member)."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.fakes.common import cut_in_half, fault_middleware
from adapters.fakes.grdf import access, data
from adapters.fakes.grdf.state import (
    API_PREFIX,
    GRDF_KEY,
    TOKEN_PATH,
    GrdfFakeConfig,
    GrdfState,
)
from adapters.fakes.grdf.wire import NDJSON, AdictError, status
from adapters.simulator.faults import Fault, FaultKind
from adapters.simulator.simulator import Simulator

log = logging.getLogger("passerelle.fakes.grdf")


def _is_api(request: web.Request) -> bool:
    return request.path.startswith(API_PREFIX + "/")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except AdictError as error:
        return error.response(request.match_info.get("pce"))
    except web.HTTPException:
        raise
    except Exception:
        log.exception("fake ADICT failed on %s", request.path)
        return web.json_response(status("5000000000", "Une erreur technique est survenue."),
                                 status=500)


@web.middleware
async def gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_api(request):
        return await handler(request)
    state = request.app[GRDF_KEY]
    if not state.tokens.valid(request):
        return web.json_response(status("4010000000", "Une erreur technique est survenue."),
                                 status=401)
    api = request.path[len(API_PREFIX):].split("/")[1]
    if not state.gate.admit(api, request.path):
        return web.json_response(status("4290000000", "Trop de requêtes."), status=429)
    return await handler(request)


def _render(_request: web.Request, fault: Fault) -> web.Response:
    if fault.kind is FaultKind.RATE_LIMITED:
        return web.json_response(status("4290000000", "Trop de requêtes."), status=429,
                                 headers={"Retry-After": str(fault.retry_after)})
    if fault.kind is FaultKind.TIMEOUT:
        return web.json_response(status("5040000000", "Gateway Timeout"), status=504)
    return web.json_response(status("5000000000", "Une erreur technique est survenue."),
                             status=fault.status)


def corrupt_line(line: dict[str, object]) -> None:
    """Break a member an adapter must read: an energy, a date, a state."""
    if isinstance(line.get("consommation"), dict):
        line["consommation"]["energie"] = "huit"  # type: ignore[index]
    elif isinstance(line.get("donnees_contractuelles"), dict):
        line["donnees_contractuelles"]["date_mes"] = "07/12/2020"  # type: ignore[index]
    elif isinstance(line.get("donnees_techniques"), dict):
        line["donnees_techniques"]["situation_compteur"] = "4 rue Lambda"  # type: ignore[index]
    elif "id_droit_acces" in line:
        line["etat_droit_acces"] = "Inconnu"
    elif line:
        line.pop(next(iter(line)))


def _damage(response: web.Response, fault: Fault) -> web.Response:
    if fault.kind is FaultKind.TRUNCATED:
        return cut_in_half(response)
    body = response.body if isinstance(response.body, bytes) else b""
    if response.content_type == NDJSON:
        lines = [json.loads(t) for t in body.decode().splitlines() if t.strip()]
        if len(lines) > 1:
            corrupt_line(lines[0])
        else:
            lines = []  # only a status line: drop it, the answer ends without one
        text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
        return web.Response(text=text, status=response.status, content_type=NDJSON)
    document = json.loads(body)
    if isinstance(document, dict) and document:
        document.pop(next(iter(document)))
    return web.json_response(document, status=response.status)


async def token(request: web.Request) -> web.Response:
    """Client credentials with ``scope`` (``/adict/v2``); ``expires_in`` is a number."""
    state = request.app[GRDF_KEY]
    form = {k: str(v) for k, v in (await request.post()).items()}
    if form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    if state.tokens.credentials(request, form) is None:
        return web.json_response({"error": "invalid_client"}, status=401)
    if form.get("scope") != state.config.scope:
        return web.json_response({"error": "invalid_scope"}, status=400)
    return web.json_response({"access_token": state.tokens.issue(), "token_type": "Bearer",
                              "expires_in": int(state.config.token_lifetime.total_seconds()),
                              "scope": state.config.scope},
                             headers={"Cache-Control": "no-store"})


def create_grdf_app(simulator: Simulator, config: GrdfFakeConfig) -> web.Application:
    """The fake ADICT over ``simulator``; ``app[GRDF_KEY]`` is its state."""
    faults = fault_middleware(simulator.faults, _is_api, _render, _damage)
    # Proofs up to 3 x 4 MB must reach the handler to be refused with ADICT's 409, not a 413.
    app = web.Application(middlewares=[errors, gateway, faults],
                          client_max_size=32 * 1024 * 1024)
    app[GRDF_KEY] = GrdfState(simulator, config)
    app.router.add_post(TOKEN_PATH, token)
    access.add_routes(app, API_PREFIX)
    data.add_routes(app, API_PREFIX)
    return app

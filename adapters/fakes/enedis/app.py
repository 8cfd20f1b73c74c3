"""The fake Enedis gateway: token, consent page, subscribed services, 2026 and v5 data APIs.

Around the routes, in order: errors rendered as Enedis does; then, for every API call, the bearer
token (401), the DataHub subscription of the API (403 ``900908``), the quota (429 "SLA dépassé",
counted per application and per API at arrival, logged in :attr:`EnedisState.gate`); then the
simulator's fault plan, rendered in the generation's own shapes.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.enedis.vocabulary import (
    API_MEASURES,
    API_SERVICES,
    API_TOKEN,
)
from adapters.fakes.common import cut_in_half, fault_middleware
from adapters.fakes.enedis import consent, itc, measures, v5
from adapters.fakes.enedis.state import ENEDIS_KEY, EnedisFakeConfig, EnedisState, Refusal
from adapters.simulator.faults import Fault, FaultKind
from adapters.simulator.simulator import Simulator

log = logging.getLogger("passerelle.fakes.enedis")

_NOT_API = ("/oauth2/", "/dataconnect/")


def api_of(path: str) -> str:
    """The API a path belongs to, as Data Connect counts quotas (one name per swagger)."""
    if path.startswith(measures.PREFIX):
        return API_MEASURES
    if path.startswith("/subscribed_services"):
        return API_SERVICES
    parts = path.strip("/").split("/")
    return "/".join(parts[:2]) if len(parts) >= 2 else path


def _is_v5(path: str) -> bool:
    return path.startswith(("/metering_data_", "/customers_"))


def _is_api(request: web.Request) -> bool:
    return not request.path.startswith(_NOT_API)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refusal as refusal:
        return refusal.response()
    except web.HTTPException:
        raise
    except Exception:
        log.exception("fake Enedis failed on %s", request.path)
        return web.json_response({"code": "ADAM-DC-0500", "message": "Erreur technique"},
                                 status=500)


@web.middleware
async def gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_api(request):
        return await handler(request)
    state = request.app[ENEDIS_KEY]
    if not state.tokens.valid(request):
        return web.json_response({"code": "401", "message": "L'utilisateur n'est pas identifié"},
                                 status=401)
    api = api_of(request.path)
    if api.split("/")[0] in state.config.unsubscribed:
        return web.json_response({"code": "900908", "message": "Resource forbidden ",
                                  "description": "User is NOT authorized to access the Resource."
                                                 " API Subscription validation failed."},
                                 status=403)
    if not state.gate.admit(api, request.path):
        return _rate_limited(request.path, None)
    return await handler(request)


def _rate_limited(path: str, retry_after: int | None) -> web.Response:
    body = ({"error": "Quota Q3 reached", "error_description": "Call threshold allowed on "
             "0:00:01"} if _is_v5(path) else {"code": "429", "message": "SLA dépassé"})
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response(body, status=429, headers=headers)


def _render(path: str, fault: Fault) -> web.Response:
    if fault.kind is FaultKind.RATE_LIMITED:
        return _rate_limited(path, fault.retry_after)
    if fault.kind is FaultKind.TIMEOUT:
        return web.json_response({"code": "504", "message": "Gateway Timeout"}, status=504)
    body = ({"error": "technical_error", "error_description": "Technical error. Please try "
             "later."} if _is_v5(path) else
            {"code": "ADAM-DC-0500", "message": "Problème technique dans l'interrogation du SI "
             "coeur"})
    return web.json_response(body, status=fault.status)


def corrupt(document: object) -> object:
    """Break one member an adapter must read, the way a sloppy upstream would."""
    if isinstance(document, list) and document and isinstance(document[0], dict):
        document[0]["contract_start"] = "12/10/2026"
    elif isinstance(document, dict):
        grandeur = document.get("grandeur")
        reading = document.get("meter_reading")
        if isinstance(grandeur, list) and grandeur and grandeur[0].get("points"):
            grandeur[0]["points"][0]["v"] = "4O78"
        elif isinstance(reading, dict) and reading.get("interval_reading"):
            reading["interval_reading"][0]["value"] = "4O78"
        elif isinstance(document.get("customer"), dict) and document["customer"].get(
                "usage_points") and "contracts" in document["customer"]["usage_points"][0]:
            document["customer"]["usage_points"][0]["contracts"]["last_activation_date"] = \
                "12/10/2026"
        elif isinstance(document.get("serviceSouscrit"), list) and document["serviceSouscrit"]:
            document["serviceSouscrit"][0]["etatCode"] = "INCONNU"
        elif document:
            document.pop(next(iter(document)))
    return document


def _damage(response: web.Response, fault: Fault) -> web.Response:
    if fault.kind is FaultKind.TRUNCATED:
        return cut_in_half(response)
    body = response.body if isinstance(response.body, bytes) else b"{}"
    damaged = json.dumps(corrupt(json.loads(body)))
    return web.Response(text=damaged, status=response.status, content_type="application/json")


async def token(request: web.Request) -> web.Response:
    """``POST /oauth2/v3/token``: client credentials only; ``expires_in`` is a string."""
    state = request.app[ENEDIS_KEY]
    if request.content_type != "application/x-www-form-urlencoded":
        return web.json_response({"error": "invalid_request"}, status=415)
    form = {k: str(v) for k, v in (await request.post()).items()}
    if form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    if state.tokens.credentials(request, form) is None:
        return web.json_response({"error": "invalid_client"}, status=400)
    lifetime = int(state.config.token_lifetime.total_seconds())
    return web.json_response({"access_token": state.tokens.issue(), "token_type": "Bearer",
                              "expires_in": str(lifetime), "scope": ""},
                             headers={"Cache-Control": "no-store"})


def create_enedis_app(simulator: Simulator, config: EnedisFakeConfig) -> web.Application:
    """The fake gateway over ``simulator``; ``app[ENEDIS_KEY]`` is its state (tests, demos)."""
    state = EnedisState(simulator, config)
    faults = fault_middleware(simulator.faults, _is_api,
                              lambda request, fault: _render(request.path, fault), _damage)
    app = web.Application(middlewares=[errors, gateway, faults])
    app[ENEDIS_KEY] = state
    app.router.add_post("/oauth2/v3/token", token)
    consent.add_routes(app)
    measures.add_routes(app)
    itc.add_routes(app)
    v5.add_routes(app)
    return app


__all__ = ["API_TOKEN", "ENEDIS_KEY", "EnedisFakeConfig", "EnedisState", "create_enedis_app"]

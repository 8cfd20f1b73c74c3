"""The consent page (``dataconnect/v1|v2/oauth2/authorize``) and ``POST /subscribed_services/v1``.

The page plays the household: the sandbox rule picks it (the last digit of ``state`` names one of
ten fake customers), customer 9 always refuses, customer 8 consents and revokes at once. It then
redirects to the registered ``redirect_uri``: v2 with ``autorisation_id`` and ``state``, v1 with
``code``, ``state`` and ``usage_point_id`` (several PRMs joined by ``;``). Errors redirect with
``error`` and ``error_description`` and, as observed, without ``state``. ``duration`` is ISO 8601
in days, weeks, months or years, at most three years; another unit is a 500
``lincs-internal-server-error``, as Enedis documents.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from adapters.fakes.enedis.state import (
    ENEDIS_KEY,
    REFUSING_CUSTOMER,
    REVOKING_CUSTOMER,
    Autorisation,
    EnedisState,
    error,
)
from consent.periods import add_months

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")
_ANY_DURATION = re.compile(r"P(?:\d+[YMWD])+(?:T(?:\d+[HMS])+)?|PT(?:\d+[HMS])+")


def duration_end(text: str, today: date) -> date | None:
    """The day a ``duration`` ends, or ``None`` if it uses a unit Enedis rejects."""
    match = _DURATION.fullmatch(text)
    if text == "P" or match is None:
        return None
    years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
    return add_months(today, 12 * years + months) + timedelta(weeks=weeks, days=days)


def _redirect(state: EnedisState, params: dict[str, str]) -> web.Response:
    return web.Response(status=302,
                        headers={"Location": f"{state.config.redirect_uri}?{urlencode(params)}"})


async def authorize(request: web.Request) -> web.Response:
    state = request.app[ENEDIS_KEY]
    version = request.match_info["version"]
    query = request.query
    today = state.today()
    missing = [p for p in ("client_id", "response_type", "duration") if not query.get(p)]
    if missing or query.get("client_id") not in state.config.clients \
            or query.get("response_type") != "code":
        return _redirect(state, {"error": "invalid_request",
                                 "error_description": "missing_parameter"})
    duration, given_state = query["duration"], query.get("state", "")
    if len(given_state) > 100:
        return _redirect(state, {"error": "invalid_request",
                                 "error_description": "invalid_state"})
    end = duration_end(duration, today)
    if end is None:
        if _ANY_DURATION.fullmatch(duration):  # hours or seconds: Enedis fails inside
            return _redirect(state, {"code": "500", "error": "server_error",
                                     "error_description": "lincs-internal-server-error"})
        return _redirect(state, {"error": "invalid_request",
                                 "error_description": "invalid_duration_format"})
    if end > add_months(today, 36) or end <= today:
        return _redirect(state, {"error": "invalid_request",
                                 "error_description": "maximum_duration_exceeded"})
    digit = int(given_state[-1]) if given_state[-1:].isdigit() else 0
    prms = state.config.customers.get(digit, ())
    if digit == REFUSING_CUSTOMER or not prms:
        return _redirect(state, {"code": "403", "error": "access_denied",
                                 "error_description": "authorization_request_refused"})
    autorisation = state.grant(prms, today, (end - today).days)
    if digit == REVOKING_CUSTOMER:
        state.revoke(autorisation.autorisation_id)
    if version == "v2":
        return _redirect(state, {"autorisation_id": str(autorisation.autorisation_id),
                                 "state": given_state})
    return _redirect(state, {"code": secrets.token_urlsafe(18), "state": given_state,
                             "usage_point_id": ";".join(prms)})


def _services(state: EnedisState, autorisation: Autorisation) -> list[dict[str, Any]]:
    """Every service of the autorisation, per PRM: what is measured, in which direction."""
    out = []
    for prm in autorisation.prms:
        profile = state.profile(prm)
        code, ends = state.service_state(autorisation, prm)
        kinds = [("ENERGIE", "P1D", True), ("CDC", state.config.step(prm).value, True),
                 ("PMAX", "P1D", True), ("IDX", "P1D", True), ("ITC", "NA", True)]
        if profile.has_production:
            kinds += [("ENERGIE", "P1D", False), ("CDC", state.config.step(prm).value, False),
                      ("IDX", "P1D", False)]
        for number, (kind, step, soutirage) in enumerate(kinds):
            out.append({
                "id": f"{autorisation.autorisation_id}-{prm}-{number}",
                "pointId": prm, "serviceCode": "ACCES", "mesuresTypeCode": kind,
                "mesuresPas": "PT60M" if step == "PT1H" else step,
                "soutirage": soutirage, "injection": not soutirage,
                "dateDebut": autorisation.starts.isoformat(), "dateFin": ends.isoformat(),
                "etatCode": code, "etatLibelle": state.label(code),
                "mesuresCorrigees": False, "publicationDonnees": False,
                "autorisation": {"autorisationId": autorisation.autorisation_id,
                                 "autorisationLibelle": "Autorisation Data Connect",
                                 "autorisationType": "EXPLICITE"}})
    return out


async def subscribed_services(request: web.Request) -> web.Response:
    state = request.app[ENEDIS_KEY]
    try:
        body = await request.json()
    except ValueError:
        raise error(400, "ADAM-DC-0001", "Le corps de la requête est invalide.") from None
    if not isinstance(body, dict) or not isinstance(body.get("comptage"), bool):
        raise error(400, "ADAM-DC-0001", "Le champ comptage est obligatoire.")
    wanted = body.get("autorisationId")
    if isinstance(wanted, bool) or not isinstance(wanted, int):
        raise error(400, "ADAM-DC-0001", "autorisationId, pointId ou siren est obligatoire.")
    autorisation = state.autorisations.get(wanted)
    if autorisation is None:
        raise error(403, "ADAM-DC-0008", "Le client n'est pas autorisé pour le point demandé")
    states = body.get("etatCode") or ["ACTIF", "DEMANDE"]  # the documented default filter
    services = [s for s in _services(state, autorisation) if s["etatCode"] in states]
    if body["comptage"]:
        return web.json_response({"nbTotalServices": len(services)})
    base = state.config.first_page
    page = body.get("page", base)
    if isinstance(page, bool) or not isinstance(page, int) or page < base:
        raise error(400, "ADAM-DC-0001", "page doit être un entier positif.")
    size, index = state.config.page_size, page - base
    return web.json_response({"nbTotalServices": len(services),
                              "serviceSouscrit": services[index * size: (index + 1) * size]})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/dataconnect/{version:v1|v2}/oauth2/authorize", authorize)
    app.router.add_post("/subscribed_services/v1", subscribed_services)
    app.router.add_post("/subscribed_services/v1/", subscribed_services)


"""``GET /mesure_synchrone_auto/v2/*`` of the fake Data Connect 2026.

Shapes follow ``swagger_mesure_synchrone_auto_v2.yaml`` and real captures: values are strings,
load-curve points are dated at the END of their interval in Paris local time without offset
(``"2026-09-29 00:30:00"``, the last one of a day at ``"... 00:00:00"`` of the next), daily points
by their day, the daily maximum power by the local second it was reached. Index registers come in
``contexte[].grandeur[].cadranTotalisateur.valeur[]`` as integers, dated at the local midnight
that closes their day. Configured gap days carry the string ``"null"``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from aiohttp import web

from adapters.fakes.enedis.periods import (
    check_window,
    local_text,
    parse_day,
    peak_instant,
    served,
    step_text,
)
from adapters.fakes.enedis.state import ENEDIS_KEY, EnedisState, error
from consent.readings import Reading
from consent.vocabulary import Dataset, Direction, Resolution

PREFIX = "/mesure_synchrone_auto/v2"

#: Route name -> (dataset, grandeurMetier, grandeurPhysique, unite).
ROUTES: dict[str, tuple[Dataset, str, str, str]] = {
    "consommation_quotidienne": (Dataset.DAILY_CONSUMPTION, "CONS", "EA", "Wh"),
    "production_quotidienne": (Dataset.DAILY_PRODUCTION, "PROD", "EA", "Wh"),
    "courbe_de_charge_consommation": (Dataset.CONSUMPTION_LOAD_CURVE, "CONS", "PA", "W"),
    "courbe_de_charge_production": (Dataset.PRODUCTION_LOAD_CURVE, "PROD", "PA", "W"),
    "puissance_conso_max_quotidienne": (Dataset.DAILY_MAX_POWER, "CONS", "PMA", "VA"),
    "index_consommation": (Dataset.CONSUMPTION_INDEX, "CONS", "EA", "Wh"),
    "index_production": (Dataset.PRODUCTION_INDEX, "PROD", "EA", "Wh"),
}


def _value(state: EnedisState, prm: str, reading: Reading) -> str:
    gaps = state.config.null_days.get(prm, frozenset())
    day = reading.start.date()  # readings carry the point's local offset
    return "null" if day.weekday() in gaps else format(reading.value, "f")


def _curve_points(state: EnedisState, prm: str, readings: list[Reading],
                  resolution: Resolution) -> list[dict[str, str]]:
    step = step_text(resolution)
    return [{"v": _value(state, prm, r), "d": local_text(r.end), "p": step, "n": "B",
             "iv": "0", "ec": "0"} for r in readings]


def _daily_points(state: EnedisState, prm: str, readings: list[Reading],
                  peak: Callable[[date], str] | None = None) -> list[dict[str, str]]:
    points = []
    for r in readings:
        day = r.start.date()
        points.append({"v": _value(state, prm, r), "d": peak(day) if peak else day.isoformat()})
    return points


def _monthly_maxima(readings: list[Reading]) -> list[Reading]:
    best: dict[tuple[int, int], Reading] = {}
    for r in readings:
        key = (r.start.year, r.start.month)
        if key not in best or r.value > best[key].value:
            best[key] = r
    return list(best.values())


async def measure(request: web.Request) -> web.Response:
    state = request.app[ENEDIS_KEY]
    name = request.match_info["name"]
    if name not in ROUTES:
        raise error(404, "404", "Ressource inconnue")
    dataset, metier, physique, unite = ROUTES[name]
    query = request.query
    prm = query.get("pointId", "")
    if not (len(prm) == 14 and prm.isdigit()):
        raise error(400, "ADAM-DC-0001", "Le paramètre pointId est obligatoire (14 chiffres).")
    first = parse_day(query.get("dateDebut"), "dateDebut", error)
    end = parse_day(query.get("dateFin"), "dateFin", error)
    if dataset is Dataset.DAILY_MAX_POWER and (
            query.get("mesuresPas") not in ("P1D", "P1M")
            or query.get("grandeurPhysique") not in ("PMA", "TOUT")):
        raise error(400, "ADAM-DC-0001", "Les paramètres mesuresPas (P1D, P1M) et "
                                         "grandeurPhysique (PMA, TOUT) sont obligatoires.")
    check_window(state, dataset, first, end, error)
    profile = state.require_access(prm)
    if dataset.spec.direction is Direction.PRODUCTION and not profile.has_production:
        raise error(400, "ADAM-ERR0069", "Le sens de la mesure ne correspond pas pour le PRM "
                                         "demandé")
    body: dict[str, Any] = {"idPrm": prm, "etapeMetier": "BRUT",
                            "periode": {"dateDebut": first.isoformat(),
                                        "dateFin": end.isoformat()}}
    if dataset in (Dataset.CONSUMPTION_INDEX, Dataset.PRODUCTION_INDEX):
        readings = served(state, prm, dataset, first, end, Resolution.P1D, error)
        valeurs = [{"d": local_text(r.end), "v": int(r.value), "iv": 0} for r in readings]
        body |= {"grandeur": [], "contexte": [{
            "etapeMetier": "BRUT", "contexteReleve": "COL", "typeReleve": "AQ",
            "grandeur": [{"grandeurMetier": metier, "grandeurPhysique": physique, "unite": unite,
                          "points": [], "calendrier": [],
                          "cadranTotalisateur": {"codeCadran": "CT", "valeur": valeurs}}]}]}
        return web.json_response(body)
    if dataset in (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE):
        step = state.config.step(prm)
        points = _curve_points(state, prm, served(state, prm, dataset, first, end, step, error),
                               step)
        body |= {"modeCalcul": "MESURE"}
    elif dataset is Dataset.DAILY_MAX_POWER:
        readings = served(state, prm, dataset, first, end, Resolution.P1D, error)
        if query.get("mesuresPas") == "P1M":
            readings = _monthly_maxima(readings)
        points = _daily_points(state, prm, readings,
                               lambda day: local_text(peak_instant(state, prm, day)))
        body |= {"modeCalcul": "MESURE", "pas": query["mesuresPas"]}
    else:
        points = _daily_points(state, prm, served(state, prm, dataset, first, end,
                                                  Resolution.P1D, error))
        body |= {"typeValeur": "GLOBALE", "modeCalcul": "DIFF.INDEX", "pas": "P1D"}
    body |= {"grandeur": [{"grandeurMetier": metier, "grandeurPhysique": physique,
                           "unite": unite, "points": points, "calendrier": []}],
             "contexte": []}
    return web.json_response(body)


def add_routes(app: web.Application) -> None:
    app.router.add_get(PREFIX + "/{name}", measure)


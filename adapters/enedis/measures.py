"""Data Connect 2026 measures: ``GET /mesure_synchrone_auto/v2/*`` requests and their answers.

One call covers whole local days ``[dateDebut, dateFin[``. The answer names the PRM
(``idPrm``), a processing stage (``etapeMetier``: BRUT/BEST) and one ``grandeur`` per measured
quantity; we take exactly the one we asked for (``grandeurMetier`` CONS/PROD,
``grandeurPhysique``, ``unite``). Index registers come elsewhere, in
``contexte[].grandeur[].cadranTotalisateur.valeur[]`` with integer values (swagger), each dated
at the local midnight that closes its day; a register dated otherwise is refused rather than
guessed (the public material does not confirm the dating).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from adapters.decode import Doc, json_value
from adapters.enedis.points import (
    Timeline,
    curve_step,
    day_or_stamp,
    quality,
    value_or_gap,
)
from adapters.enedis.vocabulary import API_MEASURES
from adapters.errors import UpstreamMalformed
from adapters.transport import Reply, UpstreamTransport
from consent.readings import Quality
from consent.vocabulary import Dataset, Resolution

PREFIX = "/mesure_synchrone_auto/v2/"


@dataclass(frozen=True, slots=True)
class Route:
    """Where a dataset lives and what its answer must carry."""

    path: str
    metier: str  # CONS or PROD
    physique: str
    unite: str


ROUTES: dict[Dataset, Route] = {
    Dataset.DAILY_CONSUMPTION: Route("consommation_quotidienne", "CONS", "EA", "Wh"),
    Dataset.CONSUMPTION_LOAD_CURVE: Route("courbe_de_charge_consommation", "CONS", "PA", "W"),
    Dataset.DAILY_MAX_POWER: Route("puissance_conso_max_quotidienne", "CONS", "PMA", "VA"),
    Dataset.CONSUMPTION_INDEX: Route("index_consommation", "CONS", "EA", "Wh"),
    Dataset.DAILY_PRODUCTION: Route("production_quotidienne", "PROD", "EA", "Wh"),
    Dataset.PRODUCTION_LOAD_CURVE: Route("courbe_de_charge_production", "PROD", "PA", "W"),
    Dataset.PRODUCTION_INDEX: Route("index_production", "PROD", "EA", "Wh"),
}
_CURVES = (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE)
_INDEXES = (Dataset.CONSUMPTION_INDEX, Dataset.PRODUCTION_INDEX)


@dataclass(frozen=True, slots=True)
class Chunk:
    """What one call brought back: readings, and the meter's curve step when it is a curve."""

    timeline: Timeline
    step: Resolution | None


def decode(reply: Reply) -> Doc:
    """The JSON body (decimals kept exact), or :class:`UpstreamMalformed` naming the body."""
    try:
        return Doc(json_value(reply.body, exact=True))
    except (ValueError, UnicodeDecodeError):
        raise UpstreamMalformed("Enedis's answer is not JSON (truncated or garbled).",
                                field="body") from None


def _one(candidates: list[Doc], where: Doc, route: Route) -> Doc | None:
    matching = [g for g in candidates if g["grandeurMetier"].value == route.metier
                and g["grandeurPhysique"].value == route.physique]
    if len(matching) > 1:
        raise where.fail(f"one {route.metier}/{route.physique} quantity")
    if matching:
        matching[0]["unite"].equals(route.unite)
        return matching[0]
    return None


def parse(doc: Doc, prm: str, dataset: Dataset, first: date, end: date, zone: str) -> Chunk:
    """The readings of one answer, checked against the question (see the module docstring)."""
    route = ROUTES[dataset]
    doc["idPrm"].equals(prm)
    timeline = Timeline(zone, first, end)
    if dataset in _INDEXES:
        found = [g for context in doc["contexte"].items() for g in context["grandeur"].items()]
        grandeur = _one(found, doc["contexte"], route)
        if grandeur is not None:
            for item in grandeur["cadranTotalisateur"]["valeur"].items():
                register = item["v"]
                if isinstance(register.value, bool) or not isinstance(register.value, int) \
                        or register.value < 0:
                    raise register.fail("a non-negative integer register")
                timeline.register_at(item["d"], Decimal(register.value), Quality.RAW)
        return Chunk(timeline, None)
    stage = quality(doc["etapeMetier"])
    grandeur = _one(doc["grandeur"].items(), doc["grandeur"], route)
    if grandeur is None:
        return Chunk(timeline, None)
    step: Resolution | None = None
    for point in grandeur["points"].items():
        value = value_or_gap(point["v"])
        if dataset in _CURVES:
            this = curve_step(point["p"])
            if step is not None and this is not step:
                raise point["p"].fail(f"the same step as the previous points ({step.value})")
            step = this
            timeline.interval_ending(point["d"], this, value, stage)
        else:
            timeline.day(day_or_stamp(point["d"]), value, stage, point["d"])
    return Chunk(timeline, step)


async def fetch(transport: UpstreamTransport, prm: str, dataset: Dataset, first: date,
                end: date, zone: str) -> Chunk:
    """One call for ``[first, end[``."""
    params = {"pointId": prm, "dateDebut": first.isoformat(), "dateFin": end.isoformat()}
    if dataset is Dataset.DAILY_MAX_POWER:
        params |= {"mesuresPas": "P1D", "grandeurPhysique": "PMA"}
    reply = await transport.request("GET", PREFIX + ROUTES[dataset].path, api=API_MEASURES,
                                    params=params)
    return parse(decode(reply), prm, dataset, first, end, zone)

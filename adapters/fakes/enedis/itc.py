"""The 2026 contract ("ITC") APIs of the fake: ``{situation_contrat,synth_contrat,comptage,
donnees_generales}_auto/v1/{prm}``.

Shapes follow the official swaggers and MyElectricalData's anonymised captures: English
snake_case, dates as ``2024-10-12T00:00:00+0200`` (offset without colon), ``situation_contrat``
a *list* (a self-consumption PRM has a ``Contrat GRD-F`` and a ``Contrat GRD-A``), the customer's
address under ``customer.customer.adress`` (sic). The PRM goes in the path: in the query string,
or with any query parameter at all, Enedis answers 500.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from aiohttp import web

from adapters.enedis.vocabulary import (
    CONSUMPTION_CONTRACT,
    PRODUCTION_CONTRACT,
    TARIFF_LABELS,
)
from adapters.fakes.enedis.periods import PARIS
from adapters.fakes.enedis.state import ENEDIS_KEY, EnedisState, Refusal, error
from adapters.simulator.profiles import Occupant, PointProfile

APIS = ("situation_contrat_auto", "synth_contrat_auto", "comptage_auto",
        "donnees_generales_auto")
TECHNICAL = ("ADAM-DC-0500", "Problème technique dans l'interrogation du SI coeur")


def enedis_date(day: date) -> str:
    """``2024-10-12T00:00:00+0200``: ISO 8601 with an offset without colon (swagger pattern)."""
    return datetime.combine(day, time(), tzinfo=PARIS).strftime("%Y-%m-%dT%H:%M:%S%z")


def _holder(state: EnedisState, prm: str) -> tuple[PointProfile, Occupant]:
    profile = state.require_access(prm)
    occupant = profile.occupant_on(state.today())
    assert occupant is not None  # require_access checked it
    return profile, occupant


def _people(occupant: Occupant, profile: PointProfile) -> dict[str, Any]:
    address = profile.address
    people: dict[str, Any] = {
        "customer": {"customer": {"adress": {
            "line1": f"{occupant.title or ''} {occupant.firstname or ''} "
                     f"{occupant.lastname or ''}".strip(),
            "line4": address.street, "line6": f"{address.postal_code} {address.city}",
            "line7": address.country.upper()}}},
        "contact_data": {"email": occupant.email, "landline": None, "phone": occupant.phone},
        "person": {"title": occupant.title, "lastname": occupant.lastname,
                   "firstname": occupant.firstname},
    }
    if occupant.legal_entity_name:
        people["organization"] = {"name": occupant.legal_entity_name,
                                  "siret_number": occupant.siret_number}
    return people


def situation(state: EnedisState, prm: str) -> list[dict[str, Any]]:
    profile, occupant = _holder(state, prm)
    terms = profile.contract
    people = _people(occupant, profile)
    power = ({"unit": "kVA", "value": str(terms.subscribed_power_kva)}
             if terms.subscribed_power_kva is not None else None)
    contracts = [{
        "usage_point_id": prm, "contract_start": enedis_date(occupant.move_in),
        "contract_type": CONSUMPTION_CONTRACT, "contractor": terms.supplier,
        "distribution_tariff": TARIFF_LABELS.get(terms.tariff, terms.tariff),
        "subscribed_power": power, "segment": terms.segment, **people}]
    if profile.has_production:
        contracts.append({"usage_point_id": prm, "contract_start": enedis_date(occupant.move_in),
                          "contract_type": PRODUCTION_CONTRACT, "segment": "P4", **people})
    return contracts


def synthesis(state: EnedisState, prm: str) -> dict[str, Any]:
    profile, occupant = _holder(state, prm)
    body: dict[str, Any] = {
        "segments": [{"segment": profile.contract.segment}],
        "consumption_last_activation_date": enedis_date(occupant.move_in),
        "services_level": "Communicant (ouvert aux services)",
    }
    if profile.has_production:
        body["segments"].append({"segment": "P4"})
        body["generation_last_activation_date"] = enedis_date(occupant.move_in)
    return body


def metering(state: EnedisState, prm: str) -> dict[str, Any]:
    profile, _ = _holder(state, prm)
    relais = ({"plageHeuresCreuses": profile.contract.offpeak_hours}
              if profile.contract.offpeak_hours else {})
    return {"dispositifComptage": {"typeComptage": {"code": profile.contract.meter_type,
                                                    "libelle": "Compteur Linky"}},
            "compteurs": [{"numeroSerie": f"0{prm[:11]}",
                           "regimePropriete": {"code": "LOUE", "libelle": "Loué"}}],
            "relais": relais}


def general(state: EnedisState, prm: str) -> dict[str, Any]:
    profile, _ = _holder(state, prm)
    address = profile.address
    return {"address": {"number_street_name": address.street,
                        "postal_code_city": f"{address.postal_code} {address.city}",
                        "insee_code": address.insee_code}}


_BUILDERS = {"situation_contrat_auto": situation, "synth_contrat_auto": synthesis,
             "comptage_auto": metering, "donnees_generales_auto": general}


async def itc(request: web.Request) -> web.Response:
    state = request.app[ENEDIS_KEY]
    api, prm = request.match_info["api"], request.match_info.get("prm", "")
    if request.query or not (len(prm) == 14 and prm.isdigit()):
        raise error(500, *TECHNICAL)  # off-swagger requests get a 500, not a 400
    return web.json_response(_BUILDERS[api](state, prm))


async def off_swagger(_request: web.Request) -> web.Response:
    """``/situation_contrat_auto/v1?prm=...``: the PRM in the query string instead of the path."""
    raise Refusal(500, {"code": TECHNICAL[0], "message": TECHNICAL[1]})


def add_routes(app: web.Application) -> None:
    for api in APIS:
        app.router.add_get(f"/{{api:{api}}}/v1/{{prm}}", itc)
        app.router.add_get(f"/{api}/v1", off_swagger)
        app.router.add_get(f"/{api}/v1/", off_swagger)

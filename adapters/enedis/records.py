"""Data Connect 2026 contract ("ITC") APIs -> activation dates, records, current occupancy.

``situation_contrat_auto`` answers a list of contract situations (soutirage ``Contrat GRD-F``,
injection ``Contrat GRD-A``) carrying the holder (``person``/``organization``) and contact
(``contact_data``); ``synth_contrat_auto`` the activation dates; ``comptage_auto`` the meter
type and off-peak hours; ``donnees_generales_auto`` the installation address. The PRM always goes
in the path (in the query string Enedis answers 500). Dates look like
``2024-10-12T00:00:00+0200``; we keep their local day.

``contracts`` is an empty schema in the public swagger: the member names read here come from
anonymised real captures (MyElectricalData fixtures) and are checked strictly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from adapters.base import Occupancy
from adapters.decode import Doc
from adapters.enedis.measures import decode
from adapters.enedis.vocabulary import (
    API_GENERAL,
    API_METERING,
    API_SITUATION,
    API_SYNTHESIS,
    CONSUMPTION_CONTRACT,
    TARIFF_CODES,
)
from adapters.errors import UpstreamCredentialsRejected
from adapters.timekeeping import at_hour, day_of
from adapters.transport import UpstreamTransport
from consent.periods import Period
from consent.vocabulary import Dataset


@dataclass(frozen=True, slots=True)
class Activation:
    """Last activation (move-in) day of each direction; ``None`` where the point has none."""

    consumption: date | None
    production: date | None


def local_day(doc: Doc, zone: str) -> date:
    """The local day of an Enedis ISO 8601 date (``2024-10-12T00:00:00+0200``)."""
    return day_of(doc.instant(), zone)


def _optional_day(doc: Doc, zone: str) -> date | None:
    return None if doc.is_null else local_day(doc, zone)


async def _get(transport: UpstreamTransport, api: str, prm: str) -> Doc:
    reply = await transport.request("GET", f"/{api}/{prm}", api=api)
    return decode(reply)


async def activation(transport: UpstreamTransport, prm: str, zone: str) -> Activation:
    doc = await _get(transport, API_SYNTHESIS, prm)
    return Activation(_optional_day(doc.get("consumption_last_activation_date"), zone),
                      _optional_day(doc.get("generation_last_activation_date"), zone))


async def _soutirage(transport: UpstreamTransport, prm: str) -> Doc:
    """The consumption contract situation (the one that names the holder)."""
    situations = (await _get(transport, API_SITUATION, prm)).items()
    for item in situations:
        item["usage_point_id"].equals(prm)
        if item["contract_type"].text() == CONSUMPTION_CONTRACT:
            return item
    if not situations:
        raise Doc([], "").fail("at least one contract situation")
    return situations[0]  # a production-only point: its injection contract names the holder


def _text(doc: Doc) -> str | None:
    return None if doc.is_null else doc.text()


async def contract(transport: UpstreamTransport, prm: str, zone: str) -> dict[str, str | None]:
    situation = await _soutirage(transport, prm)
    synthesis = await _get(transport, API_SYNTHESIS, prm)
    try:
        metering: Doc | None = await _get(transport, API_METERING, prm)
    except UpstreamCredentialsRejected:
        metering = None  # comptage_auto not subscribed (seen in 2026): fields stay unknown
    power = situation.get("subscribed_power")
    tariff = _text(situation.get("distribution_tariff"))
    segments = synthesis.get("segments")
    segment = segments.items()[0]["segment"].text() if not segments.is_null and \
        segments.items() else _text(situation.get("segment"))
    meter_type = offpeak = None
    if metering is not None:
        meter_type = _text(metering.get("dispositifComptage").get("typeComptage").get("code")) \
            if not metering.get("dispositifComptage").is_null else None
        relais = metering.get("relais")
        offpeak = None if relais.is_null else _text(relais.get("plageHeuresCreuses"))
    activated = _optional_day(synthesis.get("consumption_last_activation_date"), zone)
    return {
        "segment": segment,
        "subscribed_power": None if power.is_null else
        f"{power['value'].text()} {power['unit'].text()}",
        "tariff": TARIFF_CODES.get(tariff, tariff) if tariff else None,
        "offpeak_hours": offpeak,
        "contract_status": None,  # not part of the 2026 contract situation
        "supplier": _text(situation.get("contractor")),
        "last_activation_date": activated.isoformat() if activated else None,
        "meter_type": meter_type,
    }


async def identity(transport: UpstreamTransport, prm: str) -> dict[str, str | None]:
    situation = await _soutirage(transport, prm)
    person, organization = situation.get("person"), situation.get("organization")
    if person.is_null:
        person = Doc({}, person.path)
    if organization.is_null:
        organization = Doc({}, organization.path)
    return {"title": _text(person.get("title")), "firstname": _text(person.get("firstname")),
            "lastname": _text(person.get("lastname")),
            "legal_entity_name": _text(organization.get("name")),
            "siret_number": _text(organization.get("siret_number"))}


async def contact(transport: UpstreamTransport, prm: str) -> dict[str, str | None]:
    data = (await _soutirage(transport, prm))["contact_data"]
    return {"email": _text(data.get("email")),
            "phone": _text(data.get("phone")) or _text(data.get("landline"))}


async def address(transport: UpstreamTransport, prm: str) -> dict[str, str | None]:
    place = (await _get(transport, API_GENERAL, prm))["address"]
    postal_city = _text(place.get("postal_code_city"))
    postal = city = None
    if postal_city is not None:
        postal, _, city = postal_city.partition(" ")
        if not (len(postal) == 5 and postal.isdigit()) or not city:
            raise place["postal_code_city"].fail("a postal code and a city")
    return {"street": _text(place.get("number_street_name")), "postal_code": postal,
            "city": city, "insee_code": _text(place.get("insee_code")), "country": "France"}


RECORDS = {Dataset.IDENTITY: identity, Dataset.CONTACT: contact, Dataset.ADDRESS: address}


async def occupancy(transport: UpstreamTransport, prm: str,
                    zone: str) -> tuple[Occupancy, ...]:
    """The current holder since the contract started. Enedis 2026 gives no customer id: the
    reference is derived from the PRM and the contract's start, so it changes exactly when the
    holder does."""
    situation = await _soutirage(transport, prm)
    start = local_day(situation["contract_start"], zone)
    digest = hashlib.sha256(f"{prm}|{start.isoformat()}".encode()).hexdigest()[:16]
    return (Occupancy(f"enedis-{digest}", Period(at_hour(start, zone))),)

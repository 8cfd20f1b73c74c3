"""ADICT data lines -> readings and record fields, each member checked.

A consumption line carries its interval explicitly (``date_debut_consommation``,
``date_fin_consommation``, with offsets). An informative line is one gas day: its interval must
be ``journee_gaziere`` 06:00 to 06:00 the next day, local time, or the line is malformed.
A published line covers a meter-reading period, from one reading at 06:00 to the next.
``energie`` is kWh, a JSON number (decoded exactly); ``null`` is a gap. Quality: ``Provisoire``
is raw, ``Définitive`` validated, an estimated (``Estimé``) value estimated.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from adapters.decode import Doc
from adapters.grdf.vocabulary import GAS_DAY_START
from adapters.timekeeping import at_hour, fixed, zone_info
from consent.readings import Quality, Reading


def _quality(consumption: Doc) -> Quality:
    status = consumption["statut_conso"]
    if status.value not in ("Provisoire", "Définitive"):
        raise status.fail("Provisoire or Définitive")
    qualification = consumption.get("type_qualif_conso")
    if isinstance(qualification.value, str) and qualification.value.startswith("Estim"):
        return Quality.ESTIMATED
    return Quality.RAW if status.value == "Provisoire" else Quality.VALIDATED


def _at_gas_day_start(doc: Doc, zone: str) -> datetime:
    instant = doc.instant()
    local = instant.astimezone(zone_info(zone))
    if (local.hour, local.minute, local.second) != (GAS_DAY_START, 0, 0):
        raise doc.fail("the start of a gas day (06:00 local)")
    return fixed(instant, zone)


def reading(line: Doc, pce: str, zone: str, informative: bool) -> Reading | None:
    """The line's reading, ``None`` for a gap (``energie`` null)."""
    line["pce"]["id_pce"].equals(pce)
    consumption = line["consommation"]
    consumption["sens_flux_gaz"].equals("Consommation")
    start = _at_gas_day_start(consumption["date_debut_consommation"], zone)
    end = _at_gas_day_start(consumption["date_fin_consommation"], zone)
    if informative:
        day = consumption["journee_gaziere"].day()
        if start != at_hour(day, zone, GAS_DAY_START):
            raise consumption["date_debut_consommation"].fail("the start of its journee_gaziere")
        if end != at_hour(day + timedelta(days=1), zone, GAS_DAY_START):
            raise consumption["date_fin_consommation"].fail("the end of its journee_gaziere")
    elif not start < end:
        raise consumption["date_fin_consommation"].fail("an end after the start")
    energy = consumption["energie"]
    if energy.is_null:
        return None
    return Reading(start, end, energy.number() * 1000, _quality(consumption))


def gas_day(line: Doc) -> date | None:
    """The informative line's gas day (to keep only the days asked for)."""
    day = line["consommation"].get("journee_gaziere")
    return None if day.is_null else day.day()


def contract_fields(line: Doc, pce: str) -> dict[str, str | None]:
    """``donnees_contractuelles`` as the vocabulary's contract record (what ADICT tells)."""
    line["pce"]["id_pce"].equals(pce)
    data = line["donnees_contractuelles"]
    tariff = data.get("tarif_acheminement")
    return {"segment": None, "subscribed_power": None,
            "tariff": None if tariff.is_null else tariff.text(), "offpeak_hours": None,
            "contract_status": None, "supplier": None,
            "last_activation_date": data["date_mes"].day().isoformat(), "meter_type": None}


def activation(line: Doc, pce: str) -> date:
    """``date_mes``: when the current supply contract started (the holder's move-in)."""
    line["pce"]["id_pce"].equals(pce)
    return line["donnees_contractuelles"]["date_mes"].day()


def address_fields(line: Doc, pce: str) -> dict[str, str | None]:
    """``donnees_techniques.situation_compteur`` as the vocabulary's address record."""
    line["pce"]["id_pce"].equals(pce)
    place = line["donnees_techniques"]["situation_compteur"]
    if not isinstance(place.value, dict):
        raise place.fail("an object")
    number, street = place.get("numero_rue"), place["nom_rue"].text()
    return {"street": street if number.is_null else f"{number.text()} {street}",
            "postal_code": place["code_postal"].text(), "city": place["commune"].text(),
            "insee_code": None, "country": "France"}


"""Data Connect v5 (``metering_data_*/v5``, ``customers_*/v5``), kept for operators whose
integration predates the 2026 generation. Same interface, same normalised answers.

Answers are ``{"meter_reading": {usage_point_id, start, end, quality, reading_type,
interval_reading[]}}`` with string values; curve dates are local interval ends with an
``interval_length``; the daily maximum power is dated either locally or as an ISO instant in UTC
(``2025-05-01T04:12:00.000Z``, seen in the wild) and carries an extra ``flow_direction``. v5 has
no index API. Customer data: ``customer.usage_points[].usage_point`` + ``contracts``,
``usage_point_addresses``, ``identity.natural_person``, ``contact_data``.
"""

from __future__ import annotations

from datetime import date

from adapters.base import Occupancy
from adapters.decode import Doc
from adapters.enedis.measures import Chunk, decode
from adapters.enedis.points import Timeline, curve_step, day_or_stamp, quality, value_or_gap
from adapters.enedis.records import Activation
from adapters.timekeeping import at_hour, day_of
from adapters.transport import UpstreamTransport
from consent.periods import Period
from consent.vocabulary import Dataset, Resolution

#: Dataset -> (path, unit).
ROUTES: dict[Dataset, tuple[str, str]] = {
    Dataset.DAILY_CONSUMPTION: ("/metering_data_dc/v5/daily_consumption", "Wh"),
    Dataset.CONSUMPTION_LOAD_CURVE: ("/metering_data_clc/v5/consumption_load_curve", "W"),
    Dataset.DAILY_MAX_POWER: ("/metering_data_dcmp/v5/daily_consumption_max_power", "VA"),
    Dataset.DAILY_PRODUCTION: ("/metering_data_dp/v5/daily_production", "Wh"),
    Dataset.PRODUCTION_LOAD_CURVE: ("/metering_data_plc/v5/production_load_curve", "W"),
}
_CURVES = (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE)
_CUSTOMERS = {"contracts": "/customers_upc/v5/usage_points/contracts",
              "addresses": "/customers_upa/v5/usage_points/addresses",
              "identity": "/customers_i/v5/identity", "contact": "/customers_cd/v5/contact_data"}


def _api(path: str) -> str:
    return "/".join(path.strip("/").split("/")[:2])


def _max_day(doc: Doc, zone: str) -> date:
    text = doc.value
    if isinstance(text, str) and text.endswith("Z"):
        return day_of(doc.instant(), zone)  # an instant in UTC: its local day
    return day_or_stamp(doc)


def parse(doc: Doc, prm: str, dataset: Dataset, first: date, end: date, zone: str) -> Chunk:
    reading = doc["meter_reading"]
    reading["usage_point_id"].equals(prm)
    reading["reading_type"]["unit"].equals(ROUTES[dataset][1])
    stage = quality(reading["quality"])
    timeline = Timeline(zone, first, end)
    step: Resolution | None = None
    for item in reading["interval_reading"].items():
        value = value_or_gap(item["value"])
        if dataset in _CURVES:
            this = curve_step(item["interval_length"])
            if step is not None and this is not step:
                raise item["interval_length"].fail(f"the same step as before ({step.value})")
            step = this
            timeline.interval_ending(item["date"], this, value, stage)
        elif dataset is Dataset.DAILY_MAX_POWER:
            timeline.day(_max_day(item["date"], zone), value, stage, item["date"])
        else:
            timeline.day(item["date"].day(), value, stage, item["date"])
    return Chunk(timeline, step)


async def fetch(transport: UpstreamTransport, prm: str, dataset: Dataset, first: date,
                end: date, zone: str) -> Chunk:
    path = ROUTES[dataset][0]
    reply = await transport.request("GET", path, api=_api(path), params={
        "usage_point_id": prm, "start": first.isoformat(), "end": end.isoformat()})
    return parse(decode(reply), prm, dataset, first, end, zone)


async def customer(transport: UpstreamTransport, prm: str, what: str) -> Doc:
    path = _CUSTOMERS[what]
    reply = await transport.request("GET", path, api=_api(path), params={"usage_point_id": prm})
    return decode(reply)["customer"]


def _usage_point(doc: Doc, prm: str) -> Doc:
    for item in doc["usage_points"].items():
        if item["usage_point"]["usage_point_id"].value == prm:
            return item
    raise doc["usage_points"].fail(f"an entry for {prm}")


def _text(doc: Doc) -> str | None:
    return None if doc.is_null else doc.text()


def _activation_day(doc: Doc) -> date:
    """``2013-08-14+01:00``: a day with an offset; the day is what counts."""
    text = doc.text()
    return Doc(text[:10], doc.path).day()


async def activation(transport: UpstreamTransport, prm: str) -> Activation:
    contracts = _usage_point(await customer(transport, prm, "contracts"), prm)["contracts"]
    return Activation(_activation_day(contracts["last_activation_date"]), None)


async def record(transport: UpstreamTransport, prm: str,
                 dataset: Dataset) -> dict[str, str | None]:
    if dataset is Dataset.CONTRACT:
        entry = _usage_point(await customer(transport, prm, "contracts"), prm)
        contracts = entry["contracts"]
        activated = _activation_day(contracts["last_activation_date"])
        return {"segment": _text(contracts.get("segment")),
                "subscribed_power": _text(contracts.get("subscribed_power")),
                "tariff": _text(contracts.get("distribution_tariff")),
                "offpeak_hours": _text(contracts.get("offpeak_hours")),
                "contract_status": _text(contracts.get("contract_status")),
                "supplier": None,  # v5 contracts do not name the supplier
                "last_activation_date": activated.isoformat(),
                "meter_type": _text(entry["usage_point"].get("meter_type"))}
    if dataset is Dataset.ADDRESS:
        place = _usage_point(await customer(transport, prm, "addresses"), prm)[
            "usage_point"]["usage_point_addresses"]
        return {name: _text(place.get(name))
                for name in ("street", "postal_code", "city", "insee_code", "country")}
    if dataset is Dataset.IDENTITY:
        ident = (await customer(transport, prm, "identity"))["identity"]
        person, entity = ident.get("natural_person"), ident.get("legal_entity")
        person = Doc({}, person.path) if person.is_null else person
        entity = Doc({}, entity.path) if entity.is_null else entity
        return {"title": _text(person.get("title")), "firstname": _text(person.get("firstname")),
                "lastname": _text(person.get("lastname")),
                "legal_entity_name": _text(entity.get("name")),
                "siret_number": _text(entity.get("siret_number"))}
    data = (await customer(transport, prm, "contact"))["contact_data"]
    return {"email": _text(data.get("email")), "phone": _text(data.get("phone"))}


async def occupancy(transport: UpstreamTransport, prm: str,
                    zone: str) -> tuple[Occupancy, ...]:
    """The current customer (``customer_id``) since the contract's last activation."""
    doc = await customer(transport, prm, "contracts")
    contracts = _usage_point(doc, prm)["contracts"]
    start = _activation_day(contracts["last_activation_date"])
    return (Occupancy(doc["customer_id"].text(), Period(at_hour(start, zone))),)

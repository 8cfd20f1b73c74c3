"""The v5 data APIs of the fake (``metering_data_*/v5``, ``customers_*/v5``), for operators whose
integration predates Data Connect 2026.

Shapes follow the v5 swaggers mirrored by MyElectricalData: ``meter_reading`` with string values,
load-curve dates at the END of the interval in local time, the maximum power dated as an ISO
instant in UTC with milliseconds (``2025-05-01T04:12:00.000Z``, seen in client fixtures) and an
extra ``flow_direction``; errors as ``{"error", "error_description"}``; the PRM in the query.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from aiohttp import web

from adapters.fakes.enedis.periods import (
    PARIS,
    check_window,
    local_text,
    parse_day,
    peak_instant,
    served,
    step_text,
)
from adapters.fakes.enedis.state import ENEDIS_KEY, Refusal
from consent.vocabulary import Dataset, Direction, Resolution

#: Path -> (dataset, reading_type).
METERING: dict[str, tuple[Dataset, dict[str, str]]] = {
    "/metering_data_dc/v5/daily_consumption": (Dataset.DAILY_CONSUMPTION, {
        "measurement_kind": "energy", "measuring_period": "P1D", "unit": "Wh",
        "aggregate": "sum"}),
    "/metering_data_dp/v5/daily_production": (Dataset.DAILY_PRODUCTION, {
        "measurement_kind": "energy", "measuring_period": "P1D", "unit": "Wh",
        "aggregate": "sum"}),
    "/metering_data_clc/v5/consumption_load_curve": (Dataset.CONSUMPTION_LOAD_CURVE, {
        "measurement_kind": "power", "unit": "W", "aggregate": "average"}),
    "/metering_data_plc/v5/production_load_curve": (Dataset.PRODUCTION_LOAD_CURVE, {
        "measurement_kind": "power", "unit": "W", "aggregate": "average"}),
    "/metering_data_dcmp/v5/daily_consumption_max_power": (Dataset.DAILY_MAX_POWER, {
        "measurement_kind": "power", "measuring_period": "P1D", "unit": "VA",
        "aggregate": "maximum", "flow_direction": "forward"}),
}
CUSTOMERS = ("/customers_upc/v5/usage_points/contracts",
             "/customers_upa/v5/usage_points/addresses", "/customers_i/v5/identity",
             "/customers_cd/v5/contact_data")


def v5_error(status: int, code: str, message: str) -> Refusal:
    return Refusal(status, {"error": code, "error_description": message})


def as_v5(refusal: Refusal) -> Refusal:
    """A 2026-shaped refusal in the v5 shape (the not-holder quirk keeps its HTTP 400)."""
    body = refusal.body
    if "code" in body:
        return v5_error(refusal.status, str(body["code"]), str(body["message"]))
    return refusal


def dated_offset(day: date) -> str:
    """``2013-08-14+01:00``: a day with the Paris offset of its midnight (v5 contracts)."""
    offset = datetime.combine(day, time(), tzinfo=PARIS).strftime("%z")
    return f"{day.isoformat()}{offset[:3]}:{offset[3:]}"


def _prm(request: web.Request) -> str:
    prm = request.query.get("usage_point_id", "")
    if not (len(prm) == 14 and prm.isdigit()):
        raise v5_error(400, "Invalid_request", "usage_point_id must be 14 digits")
    return prm


async def metering(request: web.Request) -> web.Response:
    state = request.app[ENEDIS_KEY]
    dataset, reading_type = METERING[request.path]
    prm = _prm(request)
    first = parse_day(request.query.get("start"), "start", v5_error)
    end = parse_day(request.query.get("end"), "end", v5_error)
    check_window(state, dataset, first, end, v5_error)
    try:
        profile = state.require_access(prm)
    except Refusal as refusal:
        raise as_v5(refusal) from None
    if dataset.spec.direction is Direction.PRODUCTION and not profile.has_production:
        raise v5_error(400, "ADAM-ERR0069", "Le sens de la mesure ne correspond pas pour le "
                                            "PRM demandé")
    gaps = state.config.null_days.get(prm, frozenset())
    readings_out: list[dict[str, str]] = []
    if dataset in (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE):
        step = state.config.step(prm)
        for r in served(state, prm, dataset, first, end, step, v5_error):
            value = "null" if r.start.date().weekday() in gaps else format(r.value, "f")
            readings_out.append({"value": value, "date": local_text(r.end),
                                 "interval_length": step_text(step), "measure_type": "B"})
    else:
        for r in served(state, prm, dataset, first, end, Resolution.P1D, v5_error):
            day = r.start.date()
            value = "null" if day.weekday() in gaps else format(r.value, "f")
            when = day.isoformat()
            if dataset is Dataset.DAILY_MAX_POWER:
                peak = peak_instant(state, prm, day).astimezone(UTC)
                when = peak.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            readings_out.append({"value": value, "date": when})
    return web.json_response({"meter_reading": {
        "usage_point_id": prm, "start": first.isoformat(), "end": end.isoformat(),
        "quality": "BRUT", "reading_type": reading_type, "interval_reading": readings_out}})


async def customers(request: web.Request) -> web.Response:
    state = request.app[ENEDIS_KEY]
    prm = _prm(request)
    try:
        profile = state.require_access(prm)
    except Refusal as refusal:
        raise as_v5(refusal) from None
    occupant = profile.occupant_on(state.today())
    assert occupant is not None
    terms, address = profile.contract, profile.address
    usage_point: dict[str, Any] = {"usage_point_id": prm, "usage_point_status": "com",
                                   "meter_type": terms.meter_type}
    customer: dict[str, Any] = {"customer_id": occupant.customer}
    if request.path.endswith("/contracts"):
        customer["usage_points"] = [{"usage_point": usage_point, "contracts": {
            "segment": terms.segment,
            "subscribed_power": f"{terms.subscribed_power_kva} kVA"
            if terms.subscribed_power_kva is not None else None,
            "last_activation_date": dated_offset(occupant.move_in),
            "distribution_tariff": terms.tariff, "offpeak_hours": terms.offpeak_hours,
            "contract_type": "CARD-S", "contract_status": terms.contract_status,
            "last_distribution_tariff_change_date": dated_offset(occupant.move_in)}}]
    elif request.path.endswith("/addresses"):
        usage_point["usage_point_addresses"] = {
            "street": address.street, "locality": None, "postal_code": address.postal_code,
            "insee_code": address.insee_code, "city": address.city,
            "country": address.country, "geo_points": None}
        customer["usage_points"] = [{"usage_point": usage_point}]
    elif request.path.endswith("/identity"):
        customer["identity"] = {"natural_person": {
            "title": occupant.title, "firstname": occupant.firstname,
            "lastname": occupant.lastname}}
    else:
        customer["contact_data"] = {"phone": occupant.phone, "email": occupant.email}
    return web.json_response({"customer": customer})


def add_routes(app: web.Application) -> None:
    for path in METERING:
        app.router.add_get(path, metering)
    for path in CUSTOMERS:
        app.router.add_get(path, customers)

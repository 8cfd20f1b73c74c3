"""Data Connect v5 wire formats: normalised series and records -> ``meter_reading`` / ``customer``.

Shapes follow the v5 swaggers (reference §1.5): every value is a string; daily values carry
``date`` ``YYYY-MM-DD``; load-curve points carry the local ``YYYY-MM-DD HH:MM:SS`` of the *end*
of their interval (the data catalogue and real traffic, not the swagger's "UTC"), with
``interval_length`` and ``measure_type``. ``meter_reading.start``/``end`` echo the request.

Known deviations, documented in ``docs/integrators.md``: the daily maximum power's ``date``
carries the day at 00:00:00 (the instant of the peak is not part of Passerelle's normalised
data), and ``measure_type`` is always ``B`` (raw), the only value the references attest.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from consent.readings import Reading, Record, Series
from consent.vocabulary import Dataset, Resolution

#: Data Connect path (below ``/compat/enedis``) -> dataset, for measures.
SERIES_PATHS: dict[str, Dataset] = {
    "/metering_data_dc/v5/daily_consumption": Dataset.DAILY_CONSUMPTION,
    "/metering_data_clc/v5/consumption_load_curve": Dataset.CONSUMPTION_LOAD_CURVE,
    "/metering_data_dcmp/v5/daily_consumption_max_power": Dataset.DAILY_MAX_POWER,
    "/metering_data_dp/v5/daily_production": Dataset.DAILY_PRODUCTION,
    "/metering_data_plc/v5/production_load_curve": Dataset.PRODUCTION_LOAD_CURVE,
}

#: Data Connect path -> dataset, for customer records.
RECORD_PATHS: dict[str, Dataset] = {
    "/customers_upc/v5/usage_points/contracts": Dataset.CONTRACT,
    "/customers_upa/v5/usage_points/addresses": Dataset.ADDRESS,
    "/customers_i/v5/identity": Dataset.IDENTITY,
    "/customers_cd/v5/contact_data": Dataset.CONTACT,
}

_READING_TYPES: dict[Dataset, dict[str, str]] = {
    Dataset.DAILY_CONSUMPTION: {"measurement_kind": "energy", "measuring_period": "P1D",
                                "unit": "Wh", "aggregate": "sum"},
    Dataset.CONSUMPTION_LOAD_CURVE: {"measurement_kind": "power", "unit": "W",
                                     "aggregate": "average"},
    Dataset.DAILY_MAX_POWER: {"measurement_kind": "power", "measuring_period": "P1D",
                              "unit": "VA", "aggregate": "maximum"},
    Dataset.DAILY_PRODUCTION: {"measurement_kind": "energy", "measuring_period": "P1D",
                               "unit": "Wh", "aggregate": "sum"},
    Dataset.PRODUCTION_LOAD_CURVE: {"measurement_kind": "power", "unit": "W",
                                    "aggregate": "average"},
}

#: What each series endpoint serves: daily values, or the curve at its native step.
SERVED_RESOLUTION: dict[Dataset, Resolution | None] = {
    Dataset.DAILY_CONSUMPTION: Resolution.P1D,
    Dataset.DAILY_MAX_POWER: Resolution.P1D,
    Dataset.DAILY_PRODUCTION: Resolution.P1D,
    Dataset.CONSUMPTION_LOAD_CURVE: None,  # native step (PT10M, PT15M, PT30M or PT60M)
    Dataset.PRODUCTION_LOAD_CURVE: None,
}


def value_text(value: Decimal) -> str:
    """A value as Data Connect writes it: a decimal string, integral when it is."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _interval_length(resolution: Resolution) -> str:
    return "PT60M" if resolution is Resolution.PT1H else resolution.value


def _point_json(reading: Reading, series: Series, tz: ZoneInfo) -> dict[str, str]:
    if series.resolution.is_calendar:
        if series.dataset is Dataset.DAILY_MAX_POWER:
            stamp = reading.start.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        else:
            stamp = reading.start.astimezone(tz).date().isoformat()
        return {"value": value_text(reading.value), "date": stamp}
    return {"value": value_text(reading.value),
            "date": reading.end.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            "interval_length": _interval_length(series.resolution),
            "measure_type": "B"}


def meter_reading(series: Series, start: date, end: date) -> dict[str, Any]:
    """The v5 ``{"meter_reading": ...}`` body for ``series`` asked as ``[start, end[``."""
    tz = ZoneInfo(series.timezone)
    return {"meter_reading": {
        "usage_point_id": series.point.identifier,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "quality": "BRUT",
        "reading_type": dict(_READING_TYPES[series.dataset]),
        "interval_reading": [_point_json(r, series, tz) for r in series.readings],
    }}


def customer_id(key: bytes, recipient_id: str, point_identifier: str,
                held_since: datetime | None) -> str:
    """A stable 10-digit customer id per (recipient, point, occupant): no identifier shared
    across apps, and a new one when another household moves in (``held_since``, its move-in),
    so a client keying records on it never files the next occupant under the previous one.
    Keyed (HMAC-SHA256 under the server's ``key``): an app cannot test candidate move-in dates
    against it, even one whose consent withholds the contract."""
    since = held_since.astimezone(UTC).isoformat() if held_since is not None else ""
    digest = hmac.new(key, f"data-connect customer_id|{recipient_id}|{point_identifier}|"
                           f"{since}".encode(), hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**10).zfill(10)


def offset_date(day: str | None) -> str | None:
    """A date as Data Connect writes it in a contract (reference §1.5: ``2013-08-14+01:00``,
    a summer day: the offset is Central European *standard* time's, whatever the season).
    Anything that is not an ISO date is passed as it is."""
    try:
        return date.fromisoformat(day or "").isoformat() + "+01:00"
    except ValueError:
        return day


def _kept(fields: Mapping[str, str | None], mapping: Mapping[str, str]) -> dict[str, str | None]:
    """Rename released fields to their Data Connect names; withheld fields are absent."""
    return {wire: fields[ours] for ours, wire in mapping.items() if ours in fields}


_CONTRACT = {"segment": "segment", "subscribed_power": "subscribed_power",
             "last_activation_date": "last_activation_date", "tariff": "distribution_tariff",
             "offpeak_hours": "offpeak_hours", "contract_status": "contract_status"}
_ADDRESS = {"street": "street", "postal_code": "postal_code", "insee_code": "insee_code",
            "city": "city", "country": "country"}
_PERSON = {"title": "title", "firstname": "firstname", "lastname": "lastname"}
_ENTITY = {"legal_entity_name": "name", "siret_number": "siret_number"}
_CONTACT = {"phone": "phone", "email": "email"}


def customer(record: Record, recipient_id: str, held_since: datetime | None, *,
             key: bytes) -> dict[str, Any]:
    """The v5 ``{"customer": ...}`` body of a contract, address, identity or contact record of
    the household that occupies the point since ``held_since`` (``key``: see
    :func:`customer_id`)."""
    fields = record.fields
    body: dict[str, Any] = {"customer_id": customer_id(key, recipient_id,
                                                       record.point.identifier, held_since)}
    usage_point: dict[str, Any] = {"usage_point_id": record.point.identifier,
                                   "usage_point_status": "com"}
    if record.dataset is Dataset.CONTRACT:
        if "meter_type" in fields:
            usage_point["meter_type"] = fields["meter_type"]
        contracts = _kept(fields, _CONTRACT)
        if contracts.get("last_activation_date"):
            contracts["last_activation_date"] = offset_date(contracts["last_activation_date"])
        body["usage_points"] = [{"usage_point": usage_point, "contracts": contracts}]
    elif record.dataset is Dataset.ADDRESS:
        usage_point["usage_point_addresses"] = _kept(fields, _ADDRESS)
        body["usage_points"] = [{"usage_point": usage_point}]
    elif record.dataset is Dataset.IDENTITY:
        entity = _kept(fields, _ENTITY)
        if any(v is not None for v in entity.values()):
            body["identity"] = {"legal_entity": entity}
        else:
            body["identity"] = {"natural_person": _kept(fields, _PERSON)}
    elif record.dataset is Dataset.CONTACT:
        body["contact_data"] = _kept(fields, _CONTACT)
    else:  # pragma: no cover - RECORD_PATHS lists the four above
        raise ValueError(f"no Data Connect shape for {record.dataset.value}")
    return {"customer": body}

"""JSON shapes of the in-house DSO API (``docs/inhouse-dso-api.md``), server side.

Instants are RFC 3339 with their UTC offset; values are decimal *strings* (no float ever touches
a meter value); durations are whole seconds or days with the unit in the member's name.
Series and records use :meth:`consent.readings.Series.to_json` / ``Record.to_json`` unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.base import (
    Capabilities,
    Occupancy,
    PointInfo,
    PortRequest,
    PortStatus,
    UpstreamAuthorisation,
)
from consent.periods import Period

API_PREFIX = "/api/v1"

#: The route families a quota of scope ``api`` counts apart (``docs/inhouse-dso-api.md``).
ROUTE_FAMILIES = frozenset({"capabilities", "points", "series", "records", "authorisation",
                            "occupancy", "port", "meter-number"})


def route_family(path: str) -> str:
    """The family of a route under :data:`API_PREFIX`: ``points`` for a point's description,
    else the segment after ``/points/{point}/`` (``series``, ``port``...), else the first."""
    parts = path.strip("/").split("/")
    return parts[2] if parts[0] == "points" and len(parts) > 2 else parts[0]


#: ``state`` of the authorisation answer when the DSO knows no authorisation for the point
#: (the other members are then ``null``); every other state is a
#: :class:`~consent.upstream.UpstreamState` value.
ABSENT = "absent"


def instant(value: datetime | None) -> str | None:
    """RFC 3339 text of an aware instant, or ``None``."""
    return value.isoformat() if value is not None else None


def period(value: Period | None) -> dict[str, str | None] | None:
    """``{"start", "end"}`` of a period (``end`` null when open), or ``None``."""
    if value is None:
        return None
    return {"start": instant(value.start), "end": instant(value.end)}


def capabilities(caps: Capabilities) -> dict[str, Any]:
    return {
        "name": caps.name,
        "sources": sorted(s.value for s in caps.sources),
        "meter_port": caps.meter_port,
        "quotas": [{"requests": q.requests, "per_seconds": int(q.per.total_seconds()),
                    "scope": q.scope} for q in caps.quotas],
        "datasets": [{
            "dataset": d.dataset.value,
            "energies": sorted(e.value for e in d.energies),
            "resolutions": [r.value for r in d.resolutions],
            "max_window_days": d.max_window.days if d.max_window is not None else None,
            "history_days": d.history.days if d.history is not None else None,
        } for d in caps.datasets],
    }


def point_info(info: PointInfo) -> dict[str, Any]:
    return {
        "point": str(info.point),
        "energy": info.energy.value,
        "directions": sorted(d.value for d in info.directions),
        "timezone": info.timezone,
        "datasets": [{"dataset": d.dataset.value, "resolutions": [r.value for r in d.resolutions],
                      "available": period(d.period)} for d in info.datasets],
    }


def authorisation(point: str, auth: UpstreamAuthorisation | None) -> dict[str, Any]:
    if auth is None:
        return {"point": point, "state": ABSENT, "authorisation_id": None, "validity": None,
                "upstream_state": None}
    return {
        "point": str(auth.point),
        "state": auth.state.value,
        "authorisation_id": auth.upstream_id,
        "validity": period(auth.validity),
        "upstream_state": auth.upstream_state,
    }


def occupancy(point: str, items: tuple[Occupancy, ...]) -> dict[str, Any]:
    return {"point": point,
            "occupancies": [{"customer": o.customer, **(period(o.period) or {})} for o in items]}


def port_status(status: PortStatus) -> dict[str, Any]:
    return {"point": str(status.point), "state": status.state.value,
            "pending_request": status.pending_request}


def port_request(request: PortRequest) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "point": str(request.point),
        "action": request.action.value,
        "status": request.status.value,
        "requested_at": instant(request.requested_at),
        "completed_at": instant(request.completed_at),
    }

"""``/account/port``: the meter's user port (P1 / TIC) of each point, and asking the DSO to open
or close it (R20).

Only where the point's source supports it (the in-house DSO API and the simulator declare
``meter_port``; gas meters have none). Each request is recorded
(:mod:`consent.port_requests`) and appended to the evidence log as an admin event of the
household; each time the page is shown, pending requests are checked with the DSO and their
completion recorded, so the 24-hour limit can be verified: a late request is shown as such.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from aiohttp import web

from adapters.base import PortAction, PortRequestStatus, PortStatus
from adapters.errors import Unsupported, UpstreamError
from consent.errors import Conflict, NotFound, PasserelleError
from consent.households import occupied_points
from consent.identifiers import Source
from consent.models import MeteringPoint, PortRequestRecord, PortRequestState
from consent.port_requests import (
    PORT_DEADLINE,
    is_late,
    record_request,
    requests_of,
    update_status,
)
from proxy.keys import adapters_key, clock_key, database_key
from proxy.portal.fields import FieldErrors
from proxy.portal.pages import Household, confirm, household_page, log_event, render_page
from proxy.web import csrf
from proxy.web.forms import first

_STATUS = {PortRequestStatus.PENDING: PortRequestState.PENDING,
           PortRequestStatus.COMPLETED: PortRequestState.COMPLETED,
           PortRequestStatus.FAILED: PortRequestState.FAILED}


@dataclass(frozen=True, slots=True)
class PortLine:
    """One point: its port status (``None``: no port, or the DSO did not answer) and the
    household's requests on it."""

    point: MeteringPoint
    status: PortStatus | None
    supported: bool
    requests: list[PortRequestRecord]


async def _lines(request: web.Request, household: Household) -> list[PortLine]:
    now = request.app[clock_key].now()
    adapters = request.app[adapters_key]
    async with request.app[database_key].session() as session:
        points = await occupied_points(session, household.tenant_id, household.party_id, now)
        records = await requests_of(session, household.tenant_id, household.party_id,
                                    [p.id for p in points])
    lines = []
    for point in points:
        adapter = adapters.get(Source(point.source))
        mine = [r for r in records if r.point_id == point.id]
        supported = adapter is not None and (await adapter.capabilities()).meter_port
        status = None
        if supported and adapter is not None:
            try:
                status = await adapter.port_state(point.ref)
            except Unsupported:  # this meter has no user port (gas)
                supported = False
            except PasserelleError:  # the DSO does not answer now: shown as unavailable
                status = None
            else:
                with contextlib.suppress(PasserelleError):  # checked again next time
                    mine = [await _refresh(request, household, point, r) for r in mine]
        lines.append(PortLine(point, status, supported, mine))
    return lines


async def _refresh(request: web.Request, household: Household, point: MeteringPoint,
                   record: PortRequestRecord) -> PortRequestRecord:
    """Ask the DSO about a pending request; record (and evidence) its completion."""
    if PortRequestState(record.state) is not PortRequestState.PENDING:
        return record
    adapter = request.app[adapters_key][Source(point.source)]
    seen = await adapter.port_request(point.ref, record.upstream_request_id)
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        changed = await update_status(session, record.id, _STATUS[seen.status],
                                      seen.completed_at, now)
    if changed is None:
        return record
    await log_event(request, household.account, f"meter_port.{changed.state}",
                    target=str(point.ref), details={
        "request": changed.upstream_request_id, "action": changed.action,
        "completed_at": changed.completed_at.isoformat() if changed.completed_at else None,
        "late": is_late(changed, now)})
    return changed


@household_page
async def port_page(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/port``."""
    return await _render(request, household)


async def _render(request: web.Request, household: Household, *,
                  errors: FieldErrors | None = None, status: int = 200) -> web.Response:
    now = request.app[clock_key].now()
    return await render_page(request, "portal/port.html", {
        "lines": await _lines(request, household), "now": now, "is_late": is_late,
        "deadline_hours": int(PORT_DEADLINE.total_seconds() // 3600),
        "errors": errors or FieldErrors(),
    }, section="port", status=status, here="/account/port")


@household_page
async def port_request(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/port/{point_id}``: ``action=open|close``."""
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        points = await occupied_points(session, household.tenant_id, household.party_id, now)
    point = next((p for p in points if p.id == request.match_info["point_id"]), None)
    if point is None:
        raise NotFound("No point of yours has this id.", field="point_id")
    pairs = await csrf.read_verified_form(request)
    errors = FieldErrors()
    try:
        action = PortAction(first(pairs, "action"))
    except ValueError:
        errors.add("form", "portal.err.port.action")
        return await _render(request, household, errors=errors, status=400)
    adapter = request.app[adapters_key].get(Source(point.source))
    try:
        if adapter is None:
            raise NotFound("No DSO is configured for this point.")
        filed = await adapter.request_port(point.ref, action)
    except Conflict:
        errors.add("form", "portal.err.port.pending")
        return await _render(request, household, errors=errors, status=409)
    except UpstreamError:
        errors.add("form", "portal.err.port.unavailable")
        return await _render(request, household, errors=errors, status=503)
    async with request.app[database_key].session() as session:
        record = await record_request(
            session, tenant_id=household.tenant_id, household_id=household.party_id,
            account_id=household.account.id, point_id=point.id, action=action.value,
            upstream_request_id=filed.request_id, requested_at=filed.requested_at, now=now)
    await log_event(request, household.account, "meter_port.request", target=str(point.ref),
                    details={
        "request": record.upstream_request_id, "action": action.value,
        "deadline": record.deadline_at.isoformat()})
    return await confirm(request, "/account/port", f"portal.done.port_{action.value}")

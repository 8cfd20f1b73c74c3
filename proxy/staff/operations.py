"""Staff API, operations side: what the DSO reports (move-outs R9, supply contracts R13),
communities (R4), privileged actions with a second person's approval (R19, R24), the journal
(auditors) and ``/staff/me``."""

from __future__ import annotations

from aiohttp import web

from consent.errors import DomainError
from consent.identifiers import PointRef
from consent.periods import instant_from_text
from consent.staff import Permission, StaffPrincipal
from proxy.keys import clock_key, rules_key
from proxy.oauth.registry import json_body
from proxy.paging import page_of
from proxy.staff.endpoint import Answer, staff_endpoint
from proxy.staff.inputs import instant, text
from proxy.staff.views import journal_json, request_json

P = Permission


@staff_endpoint("staff.me")
async def me(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``GET /staff/me``: who the token is, its tenant, roles and permissions."""
    return Answer({"account_id": principal.account_id, "username": principal.username,
                   "tenant": principal.tenant_id, "roles": sorted(principal.roles),
                   "permissions": sorted(principal.permissions)})


@staff_endpoint("point.move_out", P.MANAGE_OCCUPANCY)
async def move_out(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/points/{point}/move-out``: ``{"at": iso, "reason": "..."}`` (R9)."""
    rules = request.app[rules_key]
    body = await json_body(request)
    at = instant(body, "at") or request.app[clock_key].now()
    point = PointRef.parse(request.match_info["point"])
    result = await rules.occupancy.move_out(principal.actor(P.MANAGE_OCCUPANCY), point, at,
                                            reason=text(body, "reason", 300, required=False))
    ended = result.ended
    summary = {"household_id": result.occupancy.household_id, "at": at.isoformat(),
               "consents": [e.consent_id for e in ended.consents],
               "mandates": [e.mandate_id for e in ended.mandates],
               "upstream": ended.upstream, "memberships": ended.memberships,
               "supply_contracts": ended.supply_contracts}
    return Answer(summary, details={"consents": len(ended.consents),
                                    "mandates": len(ended.mandates)})


@staff_endpoint("point.supply", P.MANAGE_OCCUPANCY)
async def supply(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/points/{point}/supply``: ``{"supplier_code", "starts_at", "ends_at"?}``
    from the DSO's notice (R13)."""
    rules = request.app[rules_key]
    body = await json_body(request)
    starts = instant(body, "starts_at", required=True)
    assert starts is not None
    contract = await rules.supply.report(
        principal.actor(P.MANAGE_OCCUPANCY), PointRef.parse(request.match_info["point"]),
        text(body, "supplier_code"), starts, instant(body, "ends_at"))
    return Answer({"supplier_id": contract.supplier_id if contract else None,
                   "starts_at": starts.isoformat(),
                   "registered_supplier": contract is not None}, status=201)


@staff_endpoint("community.create", P.MANAGE_COMMUNITIES)
async def create_community(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/communities``: ``{"name", "organiser_id", "min_members"?}`` (R4)."""
    body = await json_body(request)
    k = body.get("min_members")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool)):
        raise DomainError("min_members is an integer.", field="min_members")
    community = await request.app[rules_key].communities.create(
        principal.actor(P.MANAGE_COMMUNITIES), name=text(body, "name"),
        organiser_id=text(body, "organiser_id", 64), min_members=k)
    return Answer({"id": community.id, "name": community.name,
                   "organiser_id": community.organiser_id,
                   "min_members": community.min_members}, status=201, target=community.id)


@staff_endpoint("community.add_member", P.MANAGE_COMMUNITIES)
async def add_member(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/communities/{id}/members``: ``{"household_id", "point"}``."""
    body = await json_body(request)
    member = await request.app[rules_key].communities.add_member(
        principal.actor(P.MANAGE_COMMUNITIES), request.match_info["id"],
        text(body, "household_id", 64), PointRef.parse(text(body, "point", 64)))
    return Answer({"household_id": member.household_id,
                   "joined_at": member.joined_at.isoformat()}, status=201)


@staff_endpoint("community.read", P.MANAGE_COMMUNITIES, P.VIEW_CONSENTS)
async def community(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``GET /staff/communities/{id}``: the community and its current members."""
    service = request.app[rules_key].communities
    found = await service.get(principal.tenant_id, request.match_info["id"])
    members = await service.members(principal.tenant_id, found.id)
    return Answer({"id": found.id, "name": found.name, "organiser_id": found.organiser_id,
                   "min_members": found.min_members,
                   "members": [{"household_id": m.household_id, "point": str(m.point)}
                               for m in members]})


@staff_endpoint("privileged.request", P.REQUEST_PRIVILEGED)
async def ask_privileged(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/privileged``: ``{"kind", "params", "reason"}``; nothing runs yet."""
    body = await json_body(request)
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise DomainError("params is a JSON object.", field="params")
    row = await request.app[rules_key].privileged.request(
        principal, text(body, "kind", 32), params, text(body, "reason", 500))
    return Answer(request_json(row), status=201, target=row.id,
                  details={"kind": str(row.kind)})


@staff_endpoint("privileged.list", P.REQUEST_PRIVILEGED, P.APPROVE_PRIVILEGED, P.READ_JOURNAL)
async def list_privileged(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``GET /staff/privileged[?pending=1]``: the tenant's privileged requests."""
    rows = await request.app[rules_key].privileged.requests(
        principal.tenant_id, pending_only=request.query.get("pending") == "1")
    return Answer({"requests": [request_json(r) for r in rows]})


@staff_endpoint("privileged.approve", P.APPROVE_PRIVILEGED)
async def approve_privileged(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/privileged/{id}/approve``: by another person; then it runs."""
    row = await request.app[rules_key].privileged.approve(principal, request.match_info["id"])
    return Answer(request_json(row), details={"kind": str(row.kind), "state": str(row.state)})


@staff_endpoint("privileged.reject", P.APPROVE_PRIVILEGED)
async def reject_privileged(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/privileged/{id}/reject``."""
    row = await request.app[rules_key].privileged.reject(principal, request.match_info["id"])
    return Answer(request_json(row), details={"kind": str(row.kind)})


@staff_endpoint("journal.read", P.READ_JOURNAL)
async def journal(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``GET /staff/journal[?since=&after=&limit=]``: the tenant's staff actions, done and
    denied (auditors, R19), oldest first, a page at a time as ``/audit/v1/entries`` pages
    (:mod:`proxy.paging`); ``since`` (RFC 3339) skips older actions."""
    page = page_of(request.query, before_first=0)
    since = request.query.get("since")
    rows = await request.app[rules_key].journal.entries(
        principal.tenant_id, since=None if since is None else instant_from_text(since, "since"),
        after=page.after, limit=page.limit)
    return Answer({"entries": [journal_json(r) for r in rows],
                   "next": page.next([r.id for r in rows if r.id is not None])})

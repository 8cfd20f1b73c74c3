"""Staff API, review side (R2, R10, R14, R19): the queue, a mandate's file, its proofs, and the
reviewer's verdicts on mandates and consents. A reviewer never decides on a request they are
party to or whose proofs they uploaded (refused with rule R19 and journaled)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlmodel import col, select

from consent.errors import NotFound
from consent.models import Mandate, MandatePoint, MeteringPoint, ProofDocument
from consent.services.mandate_rules import acting_parties
from consent.services.queries import get_row
from consent.services.review_queue import WithPoints, review_queue
from consent.staff import Permission, StaffPrincipal
from proxy.keys import database_key, rules_key
from proxy.staff.endpoint import Answer, staff_endpoint
from proxy.staff.inputs import decision_body
from proxy.staff.views import event_json, item_json, proof_json

P = Permission


@staff_endpoint("reviews.list", P.REVIEW)
async def queue(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``GET /staff/reviews``: mandates and consents waiting for review, oldest first."""
    rules = request.app[rules_key]
    async with request.app[database_key].session() as session:
        items = await review_queue(session, principal.tenant_id)
    body = []
    for item in items:
        service = rules.mandates if isinstance(item.row, Mandate) else rules.consents
        proofs = await service.proofs(principal.tenant_id, item.row.id)
        body.append({**item_json(item), "proofs": [proof_json(p) for p in proofs]})
    return Answer({"items": body})


@staff_endpoint("mandate.read", P.REVIEW, P.VIEW_CONSENTS, P.MANAGE_MANDATES,
                P.ACT_AS_MANDATARY)
async def mandate_file(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``GET /staff/mandates/{id}``: terms, points, proofs, history. A mandatary's worker sees
    only the mandates naming its organisation."""
    rules, tenant = request.app[rules_key], principal.tenant_id
    mandate_id = request.match_info["id"]
    async with request.app[database_key].session() as session:
        mandate = await get_row(session, Mandate, tenant, mandate_id, "mandate")
        if principal.permissions == {P.ACT_AS_MANDATARY} and mandate.mandatary_id not in (
                await acting_parties(session, tenant, principal.party_id)):
            raise NotFound(f"No mandate with id {mandate_id!r}.", field="mandate_id")
        points = (await session.exec(select(MeteringPoint).join(
            MandatePoint, col(MandatePoint.point_id) == col(MeteringPoint.id)).where(
            MandatePoint.mandate_id == mandate.id))).all()
    return Answer({**item_json(WithPoints(mandate, sorted(p.ref for p in points))),
                   "proofs": [proof_json(p) for p in await rules.mandates.proofs(tenant,
                                                                                 mandate.id)],
                   "history": [event_json(e) for e in await rules.mandates.history(
                       tenant, mandate.id)]})


@staff_endpoint("proof.read", P.REVIEW)
async def proof_document(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``GET /staff/proofs/{id}``: the document itself, for the reviewer (R2)."""
    async with request.app[database_key].session() as session:
        proof = await get_row(session, ProofDocument, principal.tenant_id,
                              request.match_info["id"], "proof")
    data = await request.app[rules_key].evidence.blobs.get(proof.storage_key,
                                                          tenant=proof.tenant_id)
    return Answer(None, response=web.Response(
        body=data, content_type=proof.media_type,
        headers={"Cache-Control": "no-store", "Content-Disposition": "attachment",
                 "X-Content-Type-Options": "nosniff"}))


def _verdict(action: str, what: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request, principal: StaffPrincipal) -> Answer:
        rules = request.app[rules_key]
        reason, version = await decision_body(request)
        actor = principal.actor(P.REVIEW)
        object_id = request.match_info["id"]
        if what == "mandate":
            decide = rules.mandates.approve if action == "approve" else rules.mandates.refuse
            done = await decide(actor, object_id, expected_version=version, reason=reason)
            state, version = str(done.row.state), done.row.version
        else:
            judge = rules.consents.approve if action == "approve" else rules.consents.refuse
            judged = await judge(actor, object_id, expected_version=version, reason=reason)
            state, version = str(judged.row.state), judged.row.version
        return Answer({"id": object_id, "state": state, "version": version},
                      target=object_id, details={"reason": reason})

    handler.__name__ = f"{action}_{what}"
    handler.__doc__ = f"``POST /staff/{what}s/{{id}}/{action}`` by a reviewer (R19)."
    return staff_endpoint(f"{what}.{action}", P.REVIEW)(handler)


approve_mandate = _verdict("approve", "mandate")
refuse_mandate = _verdict("refuse", "mandate")
approve_consent = _verdict("approve", "consent")
refuse_consent = _verdict("refuse", "consent")

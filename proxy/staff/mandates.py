"""Staff API, mandate side (R2, R10, R11, R15): paper mandates entered by the operator,
standing mandates asked by a social service for the households it assists, proofs, and the
operator's suspensions and revocations; plus what support sees of a household.

``POST /staff/mandates`` is used by an operator admin entering a signed paper form (actor
``operator``, channel ``paper``) or by a worker of a mandatary organisation (actor
``mandatary``, channel ``api``, the mandatary being its organisation unless it names itself).
Either way the mandate then needs a proof (``POST /staff/mandates/{id}/proofs``, the document as
the body: PDF, PNG or JPEG, stored encrypted) and ``submit``, and a reviewer's approval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from consent.errors import DomainError
from consent.identifiers import PointRef
from consent.lifecycle import MandateAction
from consent.models import Channel, Mandate, ProofKind
from consent.services import MandateDraft
from consent.services.mandate_rules import MAX_PROOF_BYTES, acting_parties
from consent.services.review_queue import WithPoints, household_overview
from consent.staff import Permission, StaffPrincipal
from proxy.keys import database_key, rules_key
from proxy.oauth.registry import json_body
from proxy.staff.endpoint import Answer, staff_endpoint
from proxy.staff.inputs import decision_body, instant, texts
from proxy.staff.views import consent_json, item_json, mandate_json, proof_json
from proxy.web.body import read_capped

P = Permission


def _acting_as(principal: StaffPrincipal) -> tuple[Permission, Channel]:
    if P.MANAGE_MANDATES in principal.permissions:
        return P.MANAGE_MANDATES, Channel.PAPER
    return P.ACT_AS_MANDATARY, Channel.API


@staff_endpoint("mandate.request", P.MANAGE_MANDATES, P.ACT_AS_MANDATARY)
async def create(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/mandates``: ``{household_id, mandatary_id?, scope, points, datasets,
    valid_until?}`` (no ``valid_until``: standing, for social services only, R11)."""
    rules = request.app[rules_key]
    body = await json_body(request)
    permission, channel = _acting_as(principal)
    mandatary_id = body.get("mandatary_id")
    if permission is P.ACT_AS_MANDATARY:
        async with request.app[database_key].session() as session:
            mine = await acting_parties(session, principal.tenant_id, principal.party_id)
        organisation = next((p for p in mine if p != principal.party_id), principal.party_id)
        mandatary_id = mandatary_id or organisation
    if not isinstance(mandatary_id, str) or not isinstance(body.get("household_id"), str):
        raise DomainError("household_id and mandatary_id are required strings.",
                          field="household_id")
    draft = MandateDraft(
        mandator_id=body["household_id"], mandatary_id=mandatary_id,
        scope=str(body.get("scope", "")), points=[PointRef.parse(p) for p in
                                                  texts(body, "points")],
        datasets=texts(body, "datasets"), valid_until=instant(body, "valid_until"))
    reason = str(body.get("reason", ""))[:500]
    made = await rules.mandates.request(principal.actor(permission, channel), draft,
                                        reason=reason)
    return Answer(mandate_json_of(made.row, draft.points), status=201, target=made.row.id)


def mandate_json_of(mandate: Mandate, points: Sequence[PointRef]) -> dict[str, Any]:
    """A freshly written mandate with the points it was asked for."""
    return mandate_json(WithPoints(mandate, sorted(points)))


@staff_endpoint("mandate.proof", P.MANAGE_MANDATES, P.ACT_AS_MANDATARY)
async def add_proof(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/mandates/{id}/proofs?kind=signed_mandate``: the document is the body."""
    rules = request.app[rules_key]
    try:
        kind = ProofKind(request.query.get("kind", ProofKind.SIGNED_MANDATE.value))
    except ValueError:
        raise DomainError("kind is one of: " + ", ".join(k.value for k in ProofKind),
                          field="kind") from None
    data = await read_capped(request, MAX_PROOF_BYTES)
    if data is None:
        raise DomainError(f"A proof weighs at most {MAX_PROOF_BYTES} bytes.", field="size")
    permission, channel = _acting_as(principal)
    actor = principal.actor(permission, channel)
    mandate = await rules.mandates.get(principal.tenant_id, request.match_info["id"])
    proof = await rules.attach_mandate_proof(actor, mandate.id, kind, data, request.content_type)
    return Answer(proof_json(proof), status=201, target=mandate.id,
                  details={"proof_id": proof.id, "sha256": proof.sha256})


def _transition(action: MandateAction, *permissions: Permission):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request, principal: StaffPrincipal) -> Answer:
        rules = request.app[rules_key]
        reason, version = await decision_body(request)
        held = next(p for p in permissions if p in principal.permissions)
        channel = Channel.PAPER if held is P.MANAGE_MANDATES and (
            action is MandateAction.SUBMIT) else Channel.API
        done = await rules.mandates.act_with(principal.actor(held, channel),
                                             request.match_info["id"], action,
                                             expected_version=version, reason=reason)
        return Answer({"id": done.row.id, "state": str(done.row.state),
                       "version": done.row.version}, details={"reason": reason})

    handler.__name__ = f"mandate_{action.value}"
    handler.__doc__ = f"``POST /staff/mandates/{{id}}/{action.value}``."
    return staff_endpoint(f"mandate.{action.value}", *permissions)(handler)


submit = _transition(MandateAction.SUBMIT, P.MANAGE_MANDATES, P.ACT_AS_MANDATARY)
suspend = _transition(MandateAction.SUSPEND, P.MANAGE_MANDATES)
resume = _transition(MandateAction.RESUME, P.MANAGE_MANDATES)
revoke = _transition(MandateAction.REVOKE, P.MANAGE_MANDATES)
withdraw = _transition(MandateAction.WITHDRAW, P.ACT_AS_MANDATARY)


@staff_endpoint("household.read", P.VIEW_CONSENTS)
async def household(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``GET /staff/households/{id}``: its consents and mandates (support: never its data)."""
    async with request.app[database_key].session() as session:
        party, consents, mandates = await household_overview(
            session, principal.tenant_id, request.match_info["id"])
    return Answer({"household": {"id": party.id, "name": party.name},
                   "consents": [consent_json(c) for c in consents],
                   "mandates": [item_json(m) for m in mandates]})

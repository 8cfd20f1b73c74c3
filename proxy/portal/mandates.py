"""The household's mandates (R2, R7, R10, R11, R14): give one, upload its signed proof, follow
its review, end it.

Two ways to give a mandate, as :class:`~consent.services.MandateService` allows:

* **online** (at most two points, R14): the household's authenticated act is its signature
  (R7); the mandate is active at once;
* **written**: the household uploads the signed paper mandate (PDF, PNG or JPEG, at most 4 MB,
  checked by content, stored encrypted by the evidence store), then submits it; an operator
  reviewer who is neither party nor uploader approves or refuses it (R19), and the page shows
  where the review stands, per document.

The mandatary is a registered organisation (social services, a collective self-consumption
organiser, a supplier: chosen from a list) or a person who has an account here, named by
username, eligible and shown as :mod:`proxy.portal.mandataries` says: a username that names no
one eligible gets the same answer as one that does (the list of mandates, "mandate for the
username you typed"), and a person is shown by that username, never by their name. Only social
services may hold a mandate without end (R11): asked of a person, the form refuses it before
any lookup, so the refusal says nothing of the username either. Ending a mandate is a
withdrawal by the household, effective at once. A mandate of another household answers 404.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from consent.errors import DomainError, IllegalTransition, NotFound
from consent.evidence.errors import RejectedDocument
from consent.households import occupied_points
from consent.lifecycle import MANDATE_MACHINE, ActorRole, MandateState
from consent.models import Mandate, MandateScope, Party, ProofKind
from consent.services import MandateDraft
from consent.services.mandate_rules import MAX_PROOF_BYTES, MAX_PROOFS
from consent.services.review_queue import WithPoints, household_overview
from consent.services.reviews import ONLINE_MAX_POINTS
from consent.vocabulary import Dataset
from proxy.keys import clock_key, database_key, mandate_person_throttle_key, rules_key
from proxy.portal import fields
from proxy.portal.fields import FieldErrors
from proxy.portal.mandataries import find_person, labels, organisations
from proxy.portal.pages import Household, confirm, household_page, recorded, render_page
from proxy.portal.recording import notice
from proxy.portal.uploads import UploadRejected, read_upload
from proxy.web import csrf
from proxy.web.forms import first
from proxy.web.i18n import negotiate

LIVE = {MandateState.REQUESTED, MandateState.PENDING_REVIEW, MandateState.ACTIVE,
        MandateState.SUSPENDED}


async def _mine(request: web.Request, household: Household) -> list[WithPoints]:
    async with request.app[database_key].session() as session:
        _, _, mandates = await household_overview(session, household.tenant_id,
                                                  household.party_id)
    return mandates


async def _one(request: web.Request, household: Household) -> WithPoints:
    wanted = request.match_info["mandate_id"]
    found = next((m for m in await _mine(request, household) if m.row.id == wanted), None)
    if found is None:
        raise NotFound("No mandate of yours has this id.", field="mandate_id")
    return found


@household_page
async def mandates_page(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/mandates``."""
    mandates = await _mine(request, household)
    names = await labels(request, {m.row.mandatary_id for m in mandates
                                   if isinstance(m.row, Mandate)})
    return await render_page(request, "portal/mandates.html",
                             {"mandates": mandates, "names": names}, section="mandates")


async def _form(request: web.Request, household: Household, *, errors: FieldErrors | None = None,
                values: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        points = await occupied_points(session, household.tenant_id, household.party_id, now)
    datasets = [d for d in Dataset if any(p.can_have(d) for p in points)]
    return await render_page(request, "portal/mandate_new.html", {
        "organisations": await organisations(request, household), "points": points,
        "datasets": datasets, "scopes": list(MandateScope), "errors": errors or FieldErrors(),
        "values": values or {"scope": MandateScope.READ_DATA.value, "path": "online"},
        "online_max": ONLINE_MAX_POINTS,
    }, section="mandates", status=status, here="/account/mandates/new")


@household_page
async def new_form(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/mandates/new``."""
    return await _form(request, household)


@household_page
async def new_submit(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/mandates/new``: validate, then give it online or prepare it on paper."""
    pairs = await csrf.read_verified_form(request)
    errors = FieldErrors()
    now = request.app[clock_key].now()
    chosen_org, username = await _mandatary(request, household, pairs, errors)
    try:
        scope = MandateScope(first(pairs, "scope"))
    except ValueError:
        errors.add("scope", "portal.err.scope")
        scope = MandateScope.READ_DATA
    async with request.app[database_key].session() as session:
        mine = await occupied_points(session, household.tenant_id, household.party_id, now)
    chosen = fields.points(pairs, "points", [p.ref for p in mine], errors)
    datasets = fields.datasets(pairs, "datasets", list(Dataset), errors)
    standing = first(pairs, "standing") == "yes"
    if standing and chosen_org is None:  # a person is never social services (R11)
        errors.add("until", "portal.err.until.R11")
    until = None if standing else fields.day(pairs, "until", errors)
    path = first(pairs, "path")
    if path not in ("online", "paper"):
        errors.add("path", "portal.err.path")
    if path == "online" and len(chosen) > ONLINE_MAX_POINTS:
        errors.add("points", "portal.err.points.r14_mandate")
    values = {"mandatary": first(pairs, "mandatary"), "username": first(pairs, "username"),
              "scope": scope.value, "points": [str(p) for p in chosen],
              "datasets": [d.value for d in datasets], "until": first(pairs, "until"),
              "standing": standing, "path": path}
    if errors:
        return await _form(request, household, errors=errors, values=values, status=400)
    mandatary, label = chosen_org, chosen_org.name if chosen_org is not None else username
    if chosen_org is None:
        held = await request.app[mandate_person_throttle_key].reserve(household.account.id)
        if held.wait is not None:
            errors.add("form", "portal.err.mandate.throttled")
            return await _form(request, household, errors=errors, values=values, status=429)
        mandatary = await find_person(request, household, username)
    if mandatary is None:  # answered as if made (proxy/portal/mandataries.py)
        return await confirm(request, "/account/mandates", "portal.done.mandate_person",
                             name=username)
    draft = MandateDraft(mandator_id=household.party_id, mandatary_id=mandatary.id, scope=scope,
                         points=chosen, datasets=datasets,
                         valid_until=fields.end_of_day(until) if until else None)
    service = request.app[rules_key].mandates
    lang = negotiate(request)
    shown = notice(lang, {"mandatary": label, "scope": scope.value,
                          "points": values["points"], "datasets": values["datasets"],
                          "until": values["until"] or None, "path": path})
    try:
        async with recorded(request, household, shown) as actor:
            if path == "online":
                made = await service.give(actor, draft,
                                          reason="given online on the household page")
            else:
                made = await service.request(actor, draft,
                                             reason="prepared on the household page")
    except DomainError as error:
        errors.from_domain(error)
        return await _form(request, household, errors=errors, values=values, status=400)
    if chosen_org is None:
        return await confirm(request, "/account/mandates", "portal.done.mandate_person",
                             name=username)
    key = "portal.done.mandate_given" if path == "online" else "portal.done.mandate_prepared"
    return await confirm(request, f"/account/mandates/{made.row.id}", key, name=label)


async def _mandatary(request: web.Request, household: Household, pairs: list[tuple[str, str]],
                     errors: FieldErrors) -> tuple[Party | None, str]:
    """The organisation chosen, or ``(None, username)`` for a person, looked up only once the
    rest of the form holds (:func:`~proxy.portal.mandataries.find_person`)."""
    chosen, username = first(pairs, "mandatary"), first(pairs, "username").strip()
    if chosen and chosen != "person":
        found = next((o for o in await organisations(request, household) if o.id == chosen),
                     None)
        if found is None:
            errors.add("mandatary", "portal.err.mandatary")
        return found, ""
    if chosen != "person" or not username:
        errors.add("mandatary", "portal.err.mandatary")
    return None, username[:150]


async def _show(request: web.Request, household: Household, item: WithPoints, *,
                errors: FieldErrors | None = None, status: int = 200) -> web.Response:
    rules = request.app[rules_key]
    mandate = item.row
    assert isinstance(mandate, Mandate)
    proofs = await rules.mandates.proofs(household.tenant_id, mandate.id)
    history = await rules.mandates.history(household.tenant_id, mandate.id)
    names = await labels(request, {mandate.mandatary_id})
    state = MandateState(mandate.state)
    actions = {a.value for a in MANDATE_MACHINE.allowed_actions(state, ActorRole.SUBJECT)}
    return await render_page(request, "portal/mandate.html", {
        "item": item, "mandate": mandate, "mandatary": names.get(mandate.mandatary_id),
        "proofs": proofs, "history": history, "actions": actions,
        "can_upload": state in (MandateState.REQUESTED, MandateState.PENDING_REVIEW)
        and len(proofs) < MAX_PROOFS,
        "kinds": [ProofKind.SIGNED_MANDATE, ProofKind.IDENTITY, ProofKind.OTHER],
        "max_mb": MAX_PROOF_BYTES // (1024 * 1024), "errors": errors or FieldErrors(),
    }, section="mandates", status=status, here=f"/account/mandates/{mandate.id}")


@household_page
async def mandate_page(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/mandates/{mandate_id}``."""
    return await _show(request, household, await _one(request, household))


@household_page
async def upload_proof(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/mandates/{mandate_id}/proofs`` (``multipart/form-data``): the signed
    document; checked by content and stored encrypted before its metadata is attached."""
    item = await _one(request, household)
    errors = FieldErrors()
    rules = request.app[rules_key]
    try:
        upload = await read_upload(request, max_bytes=MAX_PROOF_BYTES)
    except UploadRejected as rejected:
        errors.add("file", rejected.message_key)
        return await _show(request, household, item, errors=errors, status=400)
    try:
        kind = ProofKind(upload.fields.get("kind", ProofKind.SIGNED_MANDATE.value))
    except ValueError:
        errors.add("kind", "portal.err.generic")
        return await _show(request, household, item, errors=errors, status=400)
    try:
        async with recorded(request, household) as actor:
            proof = await rules.attach_mandate_proof(actor, item.row.id, kind, upload.data,
                                                     upload.content_type)
    except RejectedDocument as rejected:  # nothing was stored: bytes and metadata are one
        errors.add("file", "portal.err.file.too_large" if rejected.status == 413
                   else "portal.err.file.type")
        return await _show(request, household, item, errors=errors, status=400)
    except DomainError as error:
        errors.from_domain(error, fallback="file")
        return await _show(request, household, item, errors=errors, status=400)
    return await confirm(request, f"/account/mandates/{item.row.id}", "portal.done.proof",
                         name=upload.filename or proof.storage_key)


@household_page
async def act(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/mandates/{mandate_id}/{submit|withdraw}``."""
    item = await _one(request, household)
    pairs = await csrf.read_verified_form(request)
    action = request.match_info["action"]
    if action not in ("submit", "withdraw"):
        raise web.HTTPNotFound
    service = request.app[rules_key].mandates
    errors = FieldErrors()
    try:
        async with recorded(request, household) as actor:
            if action == "submit":
                await service.submit(actor, item.row.id,
                                     expected_version=fields.version(pairs))
            else:
                await service.withdraw(actor, item.row.id,
                                       expected_version=fields.version(pairs),
                                       reason="ended on the household page")
    except IllegalTransition:
        errors.add("form", "portal.err.illegal")
    except DomainError as error:
        errors.from_domain(error)
    else:
        key = "portal.done.submitted" if action == "submit" else "portal.done.mandate_ended"
        return await confirm(request, f"/account/mandates/{item.row.id}", key)
    return await _show(request, household, await _one(request, household), errors=errors,
                       status=400)

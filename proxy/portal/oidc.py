"""Signing in through an external OpenID Connect provider (R15: FranceConnect, itsme...).

``GET /login/oidc?next=/path`` sends the browser to the provider with a fresh ``state``,
``nonce`` and PKCE verifier, kept in a sealed cookie bound to this browser (ten minutes).
``GET /login/oidc/callback`` checks ``state``, redeems the code and verifies the ID token
(:mod:`proxy.portal.oidc_client`). An identity already linked signs in (session method
``oidc``). A new one must first prove which household it is (``/login/oidc/link``): the
identifier of a point and the number printed on its meter, confirmed by the DSO (R15, the same
proof as claiming a point). Then:

* if Passerelle records a household as the point's client *for the DSO's current customer
  period*, the identity is linked to that household's account;
* otherwise a household is created for the person and the point is claimed for it (a move-in
  at the start of the DSO's customer period, which ends the previous occupant's consents, R9).

The link (``external_identity``) and the claim are kept as evidence; attempts are throttled per
subject and per address like password sign-ins.
"""

from __future__ import annotations

import secrets

from aiohttp import web
from sqlmodel import select

from consent import identity
from consent.claims import SAME_PERIOD_TOLERANCE, Claimant
from consent.models import DEFAULT_TENANT, Account, ClaimMethod, MeteringPoint, PartyKind
from consent.services.queries import occupancy_at
from consent.services.registry import add_party
from proxy.keys import (
    claim_service_key,
    clock_key,
    database_key,
    login_throttle_key,
    oidc_client_key,
    settings_key,
)
from proxy.portal import sealed
from proxy.portal.claims import (
    SOURCES,
    ProofRefused,
    Verified,
    parse_point,
    verify_meter_number,
)
from proxy.portal.fields import FieldErrors
from proxy.portal.oidc_client import OidcError
from proxy.portal.pages import confirm, log_event, render_page
from proxy.web import csrf
from proxy.web.forms import first
from proxy.web.login import safe_next
from proxy.web.pages import error_page
from proxy.web.session import apply_session_cookie, browser_session, sign_in

LOGIN_COOKIE = "oidc_login"
PENDING_COOKIE = "oidc_pending"
TEN_MINUTES = 600


async def start(request: web.Request) -> web.StreamResponse:
    """``GET /login/oidc``."""
    client = request.app.get(oidc_client_key)
    if client is None:
        raise web.HTTPNotFound
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    try:
        location = await client.authorization_url(state, nonce, verifier)
    except OidcError:
        return await error_page(request, "portal.oidc.unavailable", status=502)
    response = web.Response(status=303, headers={"Location": location})
    await sealed.seal(request, response, LOGIN_COOKIE, {
        "state": state, "nonce": nonce, "verifier": verifier,
        "next": safe_next(request.query.get("next"))}, max_age=TEN_MINUTES)
    apply_session_cookie(request, response, await browser_session(request))
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    """``GET /login/oidc/callback?code&state`` (or ``error``)."""
    client = request.app.get(oidc_client_key)
    pending = await sealed.unseal(request, LOGIN_COOKIE)
    if client is None or pending is None or not secrets.compare_digest(
            str(pending.get("state")), request.query.get("state", "")):
        return await error_page(request, "portal.oidc.expired", status=400)
    code = request.query.get("code", "")
    if "error" in request.query or not code or len(code) > 2048:
        return await error_page(request, "portal.oidc.cancelled", status=400)
    address = request.remote or "unknown"
    throttle = request.app[login_throttle_key]
    try:
        who = await client.sign_in(code, str(pending["verifier"]), str(pending["nonce"]))
    except OidcError:
        await throttle.failed("oidc", address)
        return await error_page(request, "portal.oidc.refused", status=502)
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        account = await identity.linked_account(session, DEFAULT_TENANT, who.issuer,
                                                who.subject, now)
    if account is not None:
        state = await sign_in(request, account, method="oidc")
        response = web.Response(status=303, headers={"Location": str(pending["next"])})
        apply_session_cookie(request, response, state)
        sealed.drop(response, LOGIN_COOKIE)
        return response
    response = web.Response(status=303, headers={"Location": "/login/oidc/link"})
    await sealed.seal(request, response, PENDING_COOKIE, {
        "iss": who.issuer, "sub": who.subject, "name": who.name or "",
        "next": pending["next"]}, max_age=TEN_MINUTES)
    sealed.drop(response, LOGIN_COOKIE)
    return response


async def _link_page(request: web.Request, *, errors: FieldErrors | None = None,
                     values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    return await render_page(request, "portal/oidc_link.html", {
        "sources": SOURCES, "errors": errors or FieldErrors(),
        "values": values or {"source": SOURCES[0].value},
        "label": request.app[settings_key].oidc_label,
    }, section="none", status=status, here="/login/oidc/link")


async def link_form(request: web.Request) -> web.StreamResponse:
    """``GET /login/oidc/link``: only with an identity waiting to be linked."""
    if await sealed.unseal(request, PENDING_COOKIE) is None:
        return await error_page(request, "portal.oidc.expired", status=400)
    return await _link_page(request)


async def link_submit(request: web.Request) -> web.StreamResponse:
    """``POST /login/oidc/link``: prove the household by a point and its meter number."""
    waiting = await sealed.unseal(request, PENDING_COOKIE)
    if waiting is None:
        return await error_page(request, "portal.oidc.expired", status=400)
    try:
        pairs = await csrf.read_verified_form(request)
    except csrf.FORM_REJECTED:
        return await error_page(request, "error.csrf", status=403)
    values = {k: first(pairs, k) for k in ("source", "identifier")}
    errors = FieldErrors()
    throttle, address = request.app[login_throttle_key], request.remote or "unknown"
    subject_key = f"oidc:{waiting['sub']}"
    if await throttle.retry_after(subject_key, address) is not None:
        errors.add("form", "login.throttled")
        return await _link_page(request, errors=errors, values=values, status=429)
    try:
        verified = await verify_meter_number(request.app, parse_point(
            values["source"], values["identifier"]), first(pairs, "meter_number"))
    except ProofRefused as refused:
        await throttle.failed(subject_key, address)
        errors.add(refused.field, refused.message_key)
        return await _link_page(request, errors=errors, values=values, status=400)
    account = await _household_for(request, verified, str(waiting["name"]))
    if account is None:
        errors.add("form", "portal.err.claim.taken")
        return await _link_page(request, errors=errors, values=values, status=409)
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        await identity.link_identity(session, account, str(waiting["iss"]),
                                     str(waiting["sub"]), "meter_number", now)
    await log_event(request, account, "account.oidc_linked", target=str(verified.ref),
                    details={"issuer": str(waiting["iss"]), "subject": str(waiting["sub"]),
                             "proof": "meter_number"})
    await throttle.succeeded(subject_key)
    state = await sign_in(request, account, method="oidc")
    response = await confirm(request, str(waiting["next"]), "portal.done.oidc_linked")
    apply_session_cookie(request, response, state)
    sealed.drop(response, PENDING_COOKIE)
    return response


async def _household_for(request: web.Request, verified: Verified,
                         name: str) -> Account | None:
    """The account of the household that is the point's client for the DSO's current customer
    period, or a new household that claims the point; ``None`` if the claim is refused."""
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        point = (await session.exec(select(MeteringPoint).where(
            MeteringPoint.tenant_id == DEFAULT_TENANT,
            MeteringPoint.source == verified.ref.source,
            MeteringPoint.identifier == verified.ref.identifier))).first()
        current = await occupancy_at(session, point.id, now) if point is not None else None
        if current is not None and (current.starts_at >= verified.facts.customer_since
                                    - SAME_PERIOD_TOLERANCE):
            return await identity.household_account(session, DEFAULT_TENANT,
                                                    current.household_id, now)
        party = await add_party(session, tenant_id=DEFAULT_TENANT, kind=PartyKind.HOUSEHOLD,
                                name=name or "—", now=now)
        account = await identity.household_account(session, DEFAULT_TENANT, party.id, now)
    # Nobody holds this customer period here, so the claim cannot be refused as "taken".
    result = await request.app[claim_service_key].accept(
        Claimant(party.id, account.id, DEFAULT_TENANT), verified.ref, ClaimMethod.METER_NUMBER,
        verified.facts, {"meter_number": "confirmed by the DSO", "via": "oidc first sign-in"})
    return account if result.accepted else None

"""Signing in through an external OpenID Connect provider (R15: FranceConnect, itsme...).

``GET /login/oidc?next=/path`` sends the browser to the provider with a fresh ``state``,
``nonce`` and PKCE verifier, kept in a sealed cookie bound to this browser (ten minutes).
``GET /login/oidc/callback`` checks ``state``, redeems the code and verifies the ID token
(:mod:`proxy.portal.oidc_client`). An identity already linked signs in (session method
``oidc``; the session records the link, so removing the identity ends it; an identity removed
between the lookup and the session's write starts nothing and asks to start again, 409). A new
one goes to ``/login/oidc/link`` (:mod:`proxy.portal.oidc_link`) to prove which household it
is by a point and its meter number (R15). That proof finds or starts a
household but never takes over an account someone else can already sign into: the owner links
an identity to such an account from a session signed into it, so the callback leaves the
browser's session as it is until the identity is linked. The link (``external_identity``), the
household it may create and the claim are written all or nothing, and kept as evidence;
attempts are throttled per subject and per address like password sign-ins.

``GET /login/oidc?next=/path&reauth=1`` signs in again on purpose, because a recent sign-in is
asked (choosing an account's first password, :mod:`proxy.portal.identity`): the provider is
asked for a fresh authentication (``prompt=login``, ``max_age`` =
:data:`~proxy.web.session.RECENT_SIGN_IN`) and the ID token's ``auth_time`` must show one
(:mod:`proxy.portal.oidc_client`), else nothing starts (403). ``next`` is, as always, a path on
this site (:func:`~proxy.web.login.safe_next`).

Either way the session records the ID token's ``auth_time`` as when its person authenticated
(through the link step too, in the sealed cookie), ``NULL`` without one: a plain sign-in the
provider answers silently from its own older session is a new session, not a recent sign-in.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from consent import external_identities
from consent.errors import Conflict
from consent.models import DEFAULT_TENANT
from proxy.keys import clock_key, database_key, login_throttle_key, oidc_client_key
from proxy.portal import sealed
from proxy.portal.oidc_client import NotRecent, OidcError
from proxy.portal.oidc_link import PENDING_COOKIE
from proxy.web.login import safe_next
from proxy.web.pages import error_page
from proxy.web.ratelimit import address_key
from proxy.web.session import RECENT_SIGN_IN, apply_session_cookie, browser_session, sign_in

LOGIN_COOKIE = "oidc_login"
TEN_MINUTES = 600


async def start(request: web.Request) -> web.StreamResponse:
    """``GET /login/oidc``."""
    client = request.app.get(oidc_client_key)
    if client is None:
        raise web.HTTPNotFound
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    max_age = (int(RECENT_SIGN_IN.total_seconds()) if request.query.get("reauth") == "1"
               else None)
    try:
        location = await client.authorization_url(state, nonce, verifier, max_age=max_age)
    except OidcError:
        return await error_page(request, "portal.oidc.unavailable", status=502)
    response = web.Response(status=303, headers={"Location": location})
    await sealed.seal(request, response, LOGIN_COOKIE, {
        "state": state, "nonce": nonce, "verifier": verifier,
        "next": safe_next(request.query.get("next")), "max_age": max_age},
        max_age=TEN_MINUTES)
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
    address = address_key(request.remote)
    throttle = request.app[login_throttle_key]
    max_age = pending.get("max_age")
    try:
        who = await client.sign_in(code, str(pending["verifier"]), str(pending["nonce"]),
                                   max_age=max_age if isinstance(max_age, int) else None)
    except NotRecent:
        await throttle.failed("oidc", address)
        return await error_page(request, "portal.oidc.not_recent", status=403)
    except OidcError:
        await throttle.failed("oidc", address)
        return await error_page(request, "portal.oidc.refused", status=502)
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        known = await external_identities.linked_account(session, DEFAULT_TENANT, who.issuer,
                                                         who.subject, now)
    if known is not None:
        try:
            state = await sign_in(request, known.account, method="oidc",
                                  identity_id=known.link.id, authenticated_at=who.auth_time)
        except Conflict:
            return await error_page(request, "portal.oidc.expired", status=409)
        response = web.Response(status=303, headers={"Location": str(pending["next"])})
        apply_session_cookie(request, response, state)
        sealed.drop(response, LOGIN_COOKIE)
        return response
    response = web.Response(status=303, headers={"Location": "/login/oidc/link"})
    await sealed.seal(request, response, PENDING_COOKIE, {
        "iss": who.issuer, "sub": who.subject, "name": who.name or "",
        "auth_time": who.auth_time.isoformat() if who.auth_time else None,
        "next": pending["next"]}, max_age=TEN_MINUTES)
    sealed.drop(response, LOGIN_COOKIE)
    return response

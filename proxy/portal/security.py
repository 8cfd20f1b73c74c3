"""The household's security page: how this session signed in, the OpenID identities linked to
the account and their removal (R15; GDPR art. 16/17), and the forms of
:mod:`proxy.portal.identity` (the password, sign out everywhere).

An account without a password may choose its first one here, from a session whose person
authenticated at most :data:`~proxy.web.session.RECENT_SIGN_IN` ago only (its
``authenticated_at``: a password is a permanent way in, a session may be a shared computer's
forgotten tab or a silent sign-in through the provider). Otherwise the page shows, instead of
that form, a link that signs in again through the provider asking it for a fresh authentication
(``/login/oidc?next=/account/security&reauth=1``: ``prompt=login``, ``max_age``, ``auth_time``
checked) and comes back here; without a provider, the reset-code page. Changing an existing
password takes the current one, however old the session.

A linked identity is a permanent way in: a password change or "sign out everywhere" leaves it
in place. The page lists each one (the provider, an ellipsis and the last characters of its
subject, when and how it was linked, when it last signed in) with a "Remove" form.
``POST /account/security/identities/{identity_id}/remove`` (CSRF-checked) removes it at once:
its next sign-in is a first one, through the link flow (:mod:`proxy.portal.oidc_link`). Each
session records the identity it signed in with, so exactly the sessions *that* identity opened
end, on every device (the confirmation says how many); sessions opened by a password, a reset
code or another identity stay. If this browser's session was opened by the removed identity it
ends too and the browser lands on the signed-out page: whoever removes an identity wants it to
open nothing any more, the account keeps another way in (checked below), and a session that
outlived its identity would still decide in its name (the page marks that identity "you are
signed in with it"). Another account's identity id is the portal's one 404 (R24), removing it
twice a 404 too, and removing the account's last way in (no password, no other identity) is
refused (409): nothing changes. Each removal is journalled (``account.oidc_unlinked``: issuer,
masked subject, proof, sessions ended, whether this one was).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from consent import external_identities, identity
from consent.errors import Conflict
from consent.models import ExternalIdentity
from consent.tokens import find_browser_session
from proxy.keys import clock_key, database_key, decision_recorder_key, oidc_client_key, settings_key
from proxy.portal.fields import FieldErrors
from proxy.portal.pages import Household, confirm, household_page, log_event, render_page
from proxy.web import csrf
from proxy.web.session import RECENT_SIGN_IN, apply_session_cookie, browser_session, sign_out

#: Signs in again through the provider, asking for a fresh authentication, back to this page.
REAUTH_URL = "/login/oidc?" + urlencode({"next": "/account/security", "reauth": "1"})

#: ``external_identity.proof`` -> the catalogue key that says it on the page.
_PROOF_KEYS = {"meter_number": "portal.security.proof.meter_number",
               "session+meter_number": "portal.security.proof.session_meter_number"}


@dataclass(frozen=True, slots=True)
class LinkedIdentity:
    """One linked identity as the page shows it (never the whole subject)."""

    id: str
    provider: str
    subject: str
    proof_key: str
    linked_at: datetime
    last_used_at: datetime | None
    opened_this_session: bool


def _shown(request: web.Request, link: ExternalIdentity,
           this_session: str | None) -> LinkedIdentity:
    client = request.app.get(oidc_client_key)
    settings = request.app[settings_key]
    provider = (settings.oidc_label if client is not None and link.issuer == client.expected_issuer
                else urlsplit(link.issuer).netloc or link.issuer)
    return LinkedIdentity(link.id, provider, external_identities.masked_subject(link.subject),
                          _PROOF_KEYS.get(link.proof, "portal.security.proof.other"),
                          link.created_at, link.last_login_at, link.id == this_session)


@household_page
async def security_page(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/security``."""
    return await security_view(request, household)


async def security_view(request: web.Request, household: Household, *,
                        errors: FieldErrors | None = None, status: int = 200) -> web.Response:
    """The page, with ``errors`` of a refused form (shown at ``status``)."""
    state = await browser_session(request)
    auth = await request.app[decision_recorder_key].authentication(state.cookie,
                                                                   household.account)
    settings = request.app[settings_key]
    has_password = household.account.password_hash != identity.NO_PASSWORD
    async with request.app[database_key].session() as session:
        links = await external_identities.identities_of(session, household.account.id)
    return await render_page(request, "portal/security.html", {
        "links": [_shown(request, link, state.identity_id) for link in links],
        "method": auth.method,
        "errors": errors or FieldErrors(), "has_password": has_password,
        "recent": state.signed_in_recently(request.app[clock_key].now()),
        "recent_minutes": int(RECENT_SIGN_IN.total_seconds()) // 60, "reauth_url": REAUTH_URL,
        "removable": has_password or len(links) > 1,
        "oidc_label": settings.oidc_label if settings.oidc_enabled else None,
    }, section="security", status=status, here="/account/security")


@household_page
async def remove_identity(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/security/identities/{identity_id}/remove``."""
    await csrf.read_verified_form(request)
    cookie = (await browser_session(request)).cookie
    now = request.app[clock_key].now()
    try:
        async with request.app[database_key].session() as session:
            removal = await external_identities.remove_identity(
                session, household.account, request.match_info["identity_id"], now)
            this_one = await find_browser_session(session, cookie, now) is None
    except Conflict:  # the last way in: rolled back, nothing removed, no session ended
        errors = FieldErrors()
        errors.add("form", "portal.err.identity.last_way_in")
        return await security_view(request, household, errors=errors, status=409)
    link, count = removal.link, str(removal.sessions_ended)
    await log_event(request, household.account, "account.oidc_unlinked",
                    target=f"external_identity:{link.id}", details={
                        **external_identities.journal_identity(link.issuer, link.subject),
                        "proof": link.proof, "sessions_ended": removal.sessions_ended,
                        "this_session_ended": this_one})
    if not this_one:
        return await confirm(request, "/account/security", "portal.done.oidc_unlinked",
                             count=count)
    state = await sign_out(request)
    response = await confirm(request, "/account/signed-out",
                             "portal.done.oidc_unlinked_signed_out", count=count)
    apply_session_cookie(request, response, state)
    return response

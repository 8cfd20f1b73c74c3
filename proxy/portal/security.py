"""The household's security page: how this session signed in, the OpenID identities linked to
the account and their removal (R15; GDPR art. 16/17), and the forms of
:mod:`proxy.portal.identity` (change the password, sign out everywhere).

A linked identity is a permanent way in: a password change or "sign out everywhere" leaves it
in place. The page lists each one (the provider, an ellipsis and the last characters of its
subject, when and how it was linked, when it last signed in) with a "Remove" form.
``POST /account/security/identities/{identity_id}/remove`` (CSRF-checked) removes it at once:
its next sign-in is a first one, through the link flow (:mod:`proxy.portal.oidc_link`). Sessions
record that they signed in through OpenID (method ``oidc``), not through which identity, so
every *other* session of the account ends too (the page says so); this browser stays signed in.
Another account's identity id is the portal's one 404 (R24), removing it twice a 404 too, and
removing the account's last way in (no password, no other identity) is refused (409): nothing
changes. Each removal is journalled (``account.oidc_unlinked``: issuer, masked subject, proof).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from aiohttp import web

from consent import identity
from consent.errors import Conflict
from consent.models import ExternalIdentity
from proxy.keys import clock_key, database_key, decision_recorder_key, oidc_client_key, settings_key
from proxy.portal.fields import FieldErrors
from proxy.portal.pages import Household, confirm, household_page, log_event, render_page
from proxy.web import csrf
from proxy.web.session import browser_session

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


def _shown(request: web.Request, link: ExternalIdentity) -> LinkedIdentity:
    client = request.app.get(oidc_client_key)
    settings = request.app[settings_key]
    provider = (settings.oidc_label if client is not None and link.issuer == client.expected_issuer
                else urlsplit(link.issuer).netloc or link.issuer)
    return LinkedIdentity(link.id, provider, identity.masked_subject(link.subject),
                          _PROOF_KEYS.get(link.proof, "portal.security.proof.other"),
                          link.created_at, link.last_login_at)


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
        links = await identity.identities_of(session, household.account.id)
    return await render_page(request, "portal/security.html", {
        "links": [_shown(request, link) for link in links], "method": auth.method,
        "errors": errors or FieldErrors(), "has_password": has_password,
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
            link = await identity.remove_identity(session, household.account,
                                                  request.match_info["identity_id"])
            ended = await identity.end_all_sessions(session, household.account.id, now,
                                                    keep=cookie)
    except Conflict:  # the last way in: rolled back, nothing removed, no session ended
        errors = FieldErrors()
        errors.add("form", "portal.err.identity.last_way_in")
        return await security_view(request, household, errors=errors, status=409)
    await log_event(request, household.account, "account.oidc_unlinked",
                    target=f"external_identity:{link.id}", details={
                        "issuer": link.issuer, "subject": identity.masked_subject(link.subject),
                        "proof": link.proof, "sessions_ended": ended})
    return await confirm(request, "/account/security", "portal.done.oidc_unlinked",
                         count=str(ended))

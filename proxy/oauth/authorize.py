"""The authorization endpoint: validate, sign in, ask the household, answer (RFC 6749 §4.1).

``GET /oauth2/authorize?...`` validates the request with authlib before anything else. An
error that can be sent back (the client exists and the redirect URI is one it registered,
exactly) is redirected with ``error``, ``state`` and ``iss`` (RFC 9207); any other error is an
HTML page, never a redirect (RFC 9700 §4.11.2). A valid request from a browser that is not
signed in goes to the login page and comes back. Then the consent page
(:mod:`proxy.oauth.consent_page`) says who asks, why, which datasets of which of the
household's points, at which resolution, how far back and for how long, and lets the household
narrow each of these.

``POST /oauth2/authorize?<the same query>`` carries the decision (:mod:`proxy.oauth.decision`):
approving creates an active consent and issues a code bound to it, refusing records a refused
consent; both answer ``303`` to the client.

A mandatary (an account with the ``mandatary`` role: a relative, a CPAS social worker) may
decide for a household whose consents its mandate lets it manage (R10, R11): the page offers
those households and only the points their mandates cover; the consent is the household's,
recorded as given by the mandatary under the mandate. Beyond the mandate's scope it is refused
and journaled. An account of another tenant than the app's is refused (R24).

A request for a *community* consent (``authorization_details`` ``view: community``, R4) names a
community the app organises; the page names it and says that the data will be used only inside
its aggregate. A community that does not exist, or that another app organises, is an error page
(``consent.no_community``), never a consent.
"""

from __future__ import annotations

from aiohttp import web
from authlib.oauth2.base import OAuth2Error

from consent.households import mandated_households, occupied_points
from consent.models import AccountRole, Community, MeteringPoint, Party
from consent.services.held_points import points_held_from
from proxy.errors import InvalidRequest, OAuthError
from proxy.keys import database_key, oauth_server_key, token_store_key
from proxy.oauth.answer_once import already_answered, is_answered
from proxy.oauth.consent_page import Pending, consent_page
from proxy.oauth.decision import decide
from proxy.oauth.endpoints import new_exchange
from proxy.oauth.glue import Snapshot, bound, error_redirect, read_snapshot
from proxy.oauth.server import PasserelleServer, translate
from proxy.web.login import login_url
from proxy.web.pages import error_page, see_other
from proxy.web.session import browser_session


async def authorize(request: web.Request) -> web.StreamResponse:
    """``GET`` shows the consent page; ``POST`` records the decision."""
    server = request.app[oauth_server_key]
    try:
        snapshot = await read_snapshot(request, server.issuer, use_query=True, use_form=False)
    except OAuthError as error:
        return await _error_page(request, error)
    exchange = new_exchange(request)
    await request.app[token_store_key].load_client(exchange, snapshot.payload.client_id)
    try:
        with bound(exchange):
            grant = server.get_consent_grant(snapshot, end_user=None)
    except OAuth2Error as error:
        return await _authorization_error(request, server, snapshot, error)
    except ValueError:  # authlib refuses to echo characters RFC 6749 forbids in errors
        return await _error_page(request, InvalidRequest("A parameter holds characters that "
                                                         "are not allowed."))
    state = await browser_session(request)
    if state.account is None:
        if request.method == "POST":
            return await error_page(request, "error.csrf", status=403)
        return see_other(login_url(request.path_qs, snapshot.client.recipient.tenant_id))
    account = state.account
    if account.tenant_id != snapshot.client.recipient.tenant_id:
        return await error_page(request, "consent.other_tenant", status=403)
    households: tuple[tuple[Party, tuple[MeteringPoint, ...]], ...] = ()
    async with request.app[database_key].session() as session:
        if account.has_role(AccountRole.HOUSEHOLD):
            points = await occupied_points(session, account.tenant_id, account.party_id,
                                           exchange.now)
        elif account.has_role(AccountRole.MANDATARY):
            households = tuple((h, tuple(p)) for h, p in await mandated_households(
                session, account.tenant_id, account.party_id, exchange.now))
            points = [p for _, mine in households for p in mine]
        else:
            return await error_page(request, "consent.not_household", status=403)
        recipient_id = snapshot.client.recipient.id
        held = {household: frozenset(await points_held_from(
            session, account.tenant_id, household, recipient_id, exchange.now))
            for household in ([h.id for h, _ in households] or [account.party_id])}
        assert snapshot.access is not None  # set by AccessRequestCheck during validation
        community = None
        if snapshot.access.community is not None:
            community = await session.get(Community, snapshot.access.community)
            if community is None or community.tenant_id != account.tenant_id \
                    or community.organiser_id != snapshot.client.recipient.id:
                return await error_page(request, "consent.no_community", status=400)
    pending = Pending(server, snapshot, grant, exchange, snapshot.client,
                      snapshot.access, account, tuple(points), households,
                      (community.name, community.min_members) if community is not None else None,
                      held)
    if await is_answered(request.app[database_key], snapshot):  # the page shown again, a resubmit
        return already_answered(pending)
    if request.method == "GET":
        return await consent_page(request, pending)
    return await decide(request, pending)


async def _authorization_error(request: web.Request, server: PasserelleServer,
                               snapshot: Snapshot, error: OAuth2Error) -> web.StreamResponse:
    if not error.redirect_uri:
        return await _error_page(request, translate(error))
    return error_redirect(error, snapshot.payload.state, server.issuer)


async def _error_page(request: web.Request, error: OAuthError) -> web.Response:
    return await error_page(request, "error.intro", status=400, code=error.code,
                            detail=error.detail)



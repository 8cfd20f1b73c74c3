"""Data Connect's token endpoint and consent page, on top of Passerelle's OAuth server.

``POST /oauth2/v3/token`` (Token v3): ``client_credentials`` only, credentials in the form or
in HTTP Basic; the answer is Passerelle's token response with ``expires_in`` as a string, as
Data Connect writes it, for Data Connect's token lifetime (``compat_access_token_ttl``), and
its client errors are 400 as Data Connect's are (:func:`_as_data_connect`).
``POST /oauth2/v3/revoke`` revokes a token (RFC 7009). Query parameters some clients still
send (``redirect_uri``) are ignored, as Data Connect does, and so are its scope names
(:func:`data_connect_scope`).

``GET /dataconnect/v1/oauth2/authorize?client_id&response_type=code&state&duration`` is the
household's consent page. Data Connect has no ``redirect_uri`` parameter (it is fixed at
registration) and no PKCE, so the page is bridged onto Passerelle's authorization endpoint:
the recipient registers :data:`CALLBACK_PATH` (under the issuer) among its redirect URIs, the
household signs in and decides on Passerelle's own login and consent pages, and the callback
sends the browser to the recipient's first other redirect URI with ``code``, ``state`` and
``usage_point_id`` (several PRMs joined by ``;``), or, on refusal, with Data Connect's
``code=403&error=access_denied&error_description=authorization_request_refused`` (no state).

The request crosses Passerelle's pages in the ``state`` of Passerelle's own authorization
request, as an authenticated :class:`~proxy.compat.enedis.bridge.Bridge` (client id, the
recipient's state, issue time; a day to live), so that whichever replica the callback
lands on can finish it. The callback then consumes the code it forwards (see
:func:`callback`): a callback URL opened again answers ``unknown_or_expired_request``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from datetime import date, timedelta
from urllib.parse import urlencode

from aiohttp import web
from sqlmodel import col, delete, select

from consent.durations import calendar_days, parse_data_connect
from consent.identifiers import Source
from consent.models import ConsentPoint, MeteringPoint, Recipient, RecipientState
from consent.models.oauth import AuthorizationCode
from consent.periods import consent_today
from consent.scopes import METER_DATA, scope_of
from consent.tokens import digest
from consent.vocabulary import DATASET_NAMES, MAX_HISTORY
from proxy.compat.enedis.bridge import Bridge, bridge_key, open_bridge, seal_bridge
from proxy.compat.enedis.wire import RECORD_PATHS, SERIES_PATHS
from proxy.errors import InvalidRequest, OAuthError, UnsupportedGrantType
from proxy.keys import (
    clock_key,
    database_key,
    oauth_server_key,
    redirect_relays_key,
    settings_key,
    token_store_key,
    web_secret_key,
)
from proxy.oauth.answer_once import ANSWERED
from proxy.oauth.endpoints import run_back_channel
from proxy.oauth.glue import Snapshot, check_parameters
from proxy.web.forms import FORM_TYPE, MalformedForm, first, read_form

PREFIX = "/compat/enedis"
CALLBACK_PATH = PREFIX + "/dataconnect/v1/oauth2/callback"
#: Data Connect: "ne peut excéder 3 ans" (P3Y, P36M, P1095D all pass): three calendar years
#: from today, 1,095 or 1,096 days (MAX_DURATION, the consent's own cap, is 1,096).
MAX_DURATION_MONTHS = 36
_DC_DATASETS = frozenset({*SERIES_PATHS.values(), *RECORD_PATHS.values()})
#: RFC 6749 §3.3 scope-token: printable ASCII but space, '"' and '\\'.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def data_connect_scope(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The token request's ``scope`` in Passerelle's words: only Passerelle's dataset names
    are kept; every other name is dropped, Data Connect's own (``fr_be_cons_daily_consumption``
    and the like, reference §1.3) among them: no official source says Enedis honours them,
    what an application reads there is what it subscribed to, and an unmodified client that
    sends them must not lose a dataset they have no name for (the contract). No scope left
    means the application's own, as with no ``scope``; each request is still checked against
    the household's consent."""
    if not any(key == "scope" for key, _ in pairs):
        return pairs
    words = first(pairs, "scope").split(" ")
    if not all(_SCOPE_TOKEN.fullmatch(word) for word in words if word):
        return pairs  # not a scope at all (RFC 6749 §3.3): the OAuth server refuses it
    names = list(dict.fromkeys(word for word in words if word in DATASET_NAMES))
    rest = [(key, value) for key, value in pairs if key != "scope"]
    return [*rest, ("scope", " ".join(names))] if names else rest


async def _back_channel(request: web.Request, run: str) -> web.Response:
    """Passerelle's OAuth server on a Data Connect request: form only, query ignored."""
    server = request.app[oauth_server_key]
    try:
        pairs = await read_form(request)
        check_parameters(pairs)
        if run == "token" and first(pairs, "grant_type") != "client_credentials":
            raise UnsupportedGrantType("Data Connect tokens are client_credentials only.")
        if run == "token":
            pairs = data_connect_scope(pairs)
        snapshot = Snapshot(request.method, server.issuer + request.path, request.headers,
                            [], pairs)
        # Data Connect's token lifetime by default (reference §1.3: clients keep a token for
        # a fixed 3 h or 3 h 30 without reading ``expires_in``; a shorter one would fail them
        # most of that time). Such a token is app-wide (client credentials): each request is
        # still checked against the consent of the point it reads and the token judged again
        # before data leaves, so a withdrawal, a revocation or a suspension stops it at once.
        ttl = timedelta(seconds=request.app[settings_key].compat_access_token_ttl)
        carrier = await run_back_channel(request, snapshot, run, access_ttl=ttl)
    except MalformedForm as error:
        response = InvalidRequest(error.detail).to_response()
        if request.content_type != FORM_TYPE:
            response.set_status(415)  # Data Connect's answer to a body that is not a form
        return response
    except OAuthError as error:
        return _as_data_connect(request, error.to_response())
    if run != "token" or carrier.status != 200:
        return _as_data_connect(request, carrier.to_response())
    body = dict(carrier.json)
    body["expires_in"] = str(body.get("expires_in", ""))
    headers = {k: v for k, v in carrier.headers if k.lower() != "content-type"}
    return web.Response(text=json.dumps(body), status=carrier.status,
                        content_type="application/json", headers=headers)


def _as_data_connect(request: web.Request, response: web.Response) -> web.Response:
    """Data Connect answers every client error of its token endpoint with 400 (reference
    §1.3), ``invalid_client`` included; RFC 6749 §5.2's 401 is kept only where it is required,
    for a client that authenticated with the ``Authorization`` header."""
    if response.status == 401 and "Authorization" not in request.headers:
        response.set_status(400)
        response.headers.pop("WWW-Authenticate", None)
    return response


async def not_post(request: web.Request) -> web.Response:
    """Any other method than POST on the token or revocation endpoint: 405 in Data Connect's
    shape (aiohttp's own would be problem+json)."""
    return web.json_response({"error": "invalid_request",
                              "error_description": f"{request.method[:16]} is not allowed here; "
                                                   "use POST."},
                             status=405, headers={"Allow": "POST", "Cache-Control": "no-store"})


async def token(request: web.Request) -> web.Response:
    """``POST /oauth2/v3/token``: client credentials, ``expires_in`` as a string."""
    return await _back_channel(request, "token")


async def revoke(request: web.Request) -> web.Response:
    """``POST /oauth2/v3/revoke`` (``token``, optional ``token_type_hint``), RFC 7009."""
    return await _back_channel(request, "revocation")


def max_duration_days(today: date) -> int:
    """Three calendar years from ``today``, in days (1,095 or 1,096)."""
    return calendar_days(today, months=MAX_DURATION_MONTHS)


#: The consent page's parameters (``purpose`` is Passerelle's own).
_AUTHORIZE_PARAMETERS = ("client_id", "response_type", "state", "duration", "purpose")


def _dc_error(description: str, status: int = 400) -> web.Response:
    return web.json_response({"error": "invalid_request", "error_description": description},
                             status=status, headers={"Cache-Control": "no-store"})


async def authorize(request: web.Request) -> web.Response:
    """``GET /dataconnect/v1/oauth2/authorize``: validate, then Passerelle's consent page."""
    query = request.query
    if any(len(query.getall(name, [])) > 1 for name in _AUTHORIZE_PARAMETERS):
        # Which one the app meant is not ours to guess (the data endpoints refuse it too).
        return _dc_error("duplicate_parameter")
    client_id, duration = query.get("client_id", ""), query.get("duration", "")
    state = query.get("state")
    if not client_id or not duration or query.get("response_type") is None:
        return _dc_error("missing_parameter")
    if query.get("response_type") != "code":
        return _dc_error("unsupported_response_type")
    if state is not None and len(state) > 100:
        return _dc_error("invalid_state")
    today = consent_today(request.app[clock_key].now())
    days = parse_data_connect(duration, today)
    if days is None:
        return _dc_error("invalid_duration_format")
    if days > max_duration_days(today):
        return _dc_error("maximum_duration_exceeded")
    recipient = await request.app[token_store_key].clients.find(client_id)
    callback = request.app[settings_key].issuer + CALLBACK_PATH
    if recipient is None or RecipientState(recipient.state) is not RecipientState.ACTIVE:
        return _dc_error("unknown_client", status=400)
    datasets = frozenset(recipient.may_receive()) & _DC_DATASETS
    if _target_of(recipient, callback) is None or not datasets:
        return _dc_error("client_not_configured_for_dataconnect")
    # Data Connect has no purpose: an app that declared one is asked for it; an app that
    # declared several names the one of this request (``purpose``, Passerelle's own
    # parameter), as the household must see which one it consents to.
    purpose = query.get("purpose")
    if purpose is None and len(recipient.purposes) > 1:
        return _dc_error("purpose_required")
    if purpose is not None and purpose not in recipient.purposes:
        return _dc_error("invalid_purpose")
    issued = int(request.app[clock_key].now().timestamp())
    bridge = seal_bridge(_key(request), Bridge(client_id, state, issued))
    verifier = secrets.token_urlsafe(48)  # PKCE for Passerelle's server; Data Connect has none
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    # History: Data Connect's consent lets the app read all the DSO keeps (36 months and 15
    # days of daily values, reference §1.4), so the page asks for the longest Passerelle
    # allows; the household may shorten it there.
    details = [{"type": METER_DATA, "datasets": sorted(d.value for d in datasets),
                "duration": f"P{days}D", "history": f"P{MAX_HISTORY.days}D",
                **({"purpose": purpose} if purpose else {})}]
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": callback,
              "scope": scope_of(datasets), "state": bridge,
              "code_challenge": challenge.decode().rstrip("="), "code_challenge_method": "S256",
              "authorization_details": json.dumps(details, separators=(",", ":"))}
    raise web.HTTPSeeOther("/oauth2/authorize?" + urlencode(params))


def _target_of(recipient: Recipient | None, callback: str) -> str | None:
    """Where an active recipient configured for the consent page is sent back: its first
    registered redirect URI other than ``callback``; ``None`` if there is none."""
    if recipient is None or RecipientState(recipient.state) is not RecipientState.ACTIVE:
        return None
    targets = [u for u in recipient.redirect_uris if u != callback]
    return targets[0] if callback in recipient.redirect_uris and targets else None


def _key(request: web.Request) -> bytes:
    return bridge_key(request.app[web_secret_key])


async def callback(request: web.Request) -> web.Response:
    """Back from Passerelle's consent page: answer the recipient as Data Connect does.

    Any replica can answer: the request is in the authenticated ``state``
    (:mod:`proxy.compat.enedis.bridge`), and the target is derived again, as :func:`authorize`
    derives it, from the recipient's registered redirect URIs as they are now. A bridge that
    is forged, altered, sealed under another key or older than its TTL, or whose recipient is
    no longer active and configured, answers ``unknown_or_expired_request``.

    Replay: the bridge itself could be presented again within its TTL, so the callback
    consumes the code it forwards: it deletes its row (of two racing callbacks, one deletes
    it). The code is only a receipt here: the verifier of its PKCE challenge was never kept,
    so no token endpoint could exchange it, and no token family starts from it whose reuse
    detection would need the row (marking it used instead would leave a row that the expiry
    sweep, :mod:`consent.expiry_sweep`, deletes only with its family's last token: never).
    A callback URL opened again (browser history, a reload) thus answers
    ``unknown_or_expired_request`` instead of disclosing the meters again, and a code that is
    not the recipient's own is refused likewise. A refusal carries no code and no data:
    sending it again to the same registered target is harmless.
    """
    now = request.app[clock_key].now()
    bridge = open_bridge(_key(request), request.query.get("state", ""), now)
    if bridge is None:
        return _dc_error("unknown_or_expired_request")
    code = request.query.get("code")
    callback_uri = request.app[settings_key].issuer + CALLBACK_PATH
    recipient = await request.app[token_store_key].clients.find(bridge.client_id)
    async with request.app[database_key].session() as session:
        target = _target_of(recipient, callback_uri)
        if target is None or recipient is None:
            return _dc_error("unknown_or_expired_request")
        error = request.query.get("error")
        if error or not code:
            # Data Connect's two answers (reference §1.2): the household refused, or the
            # request failed. Only a refusal is reported as one: not the answer to a form
            # sent twice (a double click), whose first sending may well have approved.
            refused = (error == "access_denied"
                       and request.query.get("error_description") != ANSWERED)
            answer = ({"code": "403", "error": "access_denied",
                       "error_description": "authorization_request_refused"}
                      if refused else
                      {"code": "500", "error": "server_error",
                       "error_description": "lincs-internal-server-error"})
            raise web.HTTPSeeOther(target + _sep(target) + urlencode(answer))
        issued = (await session.exec(select(AuthorizationCode).where(
            AuthorizationCode.code_hash == digest(code)))).first()
        if issued is None or issued.recipient_id != recipient.id:
            return _dc_error("unknown_or_expired_request")
        # Only a code issued for this callback, unused and unexpired: a code the native flow
        # gave the same app (redirected to its own URI, perhaps already exchanged) must neither
        # disclose the household's meters here nor be consumed (its exchange, and the reuse
        # detection of the tokens it gave, depend on its row). The same conditions guard the
        # delete, so of two racing callbacks one consumes the code.
        forwardable = (col(AuthorizationCode.id) == issued.id,
                       col(AuthorizationCode.redirect_uri) == callback_uri,
                       col(AuthorizationCode.used_at).is_(None),
                       col(AuthorizationCode.expires_at) > now)
        consumed = await session.exec(delete(AuthorizationCode).where(*forwardable))
        if consumed.rowcount != 1:
            return _dc_error("unknown_or_expired_request")
        rows = (await session.exec(
            select(MeteringPoint.source, MeteringPoint.identifier)
            .join(ConsentPoint, col(ConsentPoint.point_id) == MeteringPoint.id)
            .where(ConsentPoint.consent_id == issued.consent_id))).all()
    prms = sorted(identifier for source, identifier in rows if source == Source.ENEDIS)
    params = {"code": code, **({"state": bridge.state} if bridge.state is not None else {}),
              "usage_point_id": ";".join(prms)}
    raise web.HTTPSeeOther(target + _sep(target) + urlencode(params))


def _sep(uri: str) -> str:
    return "&" if "?" in uri else "?"


def add_compat_oauth_routes(app: web.Application) -> None:
    """The token endpoint, the consent page and its callback, under ``/compat/enedis``."""
    app.router.add_post(PREFIX + "/oauth2/v3/token", token, name="dc-token")
    app.router.add_post(PREFIX + "/oauth2/v3/revoke", revoke, name="dc-revoke")
    for path in ("/oauth2/v3/token", "/oauth2/v3/revoke"):
        app.router.add_route("*", PREFIX + path, not_post)
    app.router.add_get(PREFIX + "/dataconnect/v1/oauth2/authorize", authorize,
                       name="dc-authorize")
    app.router.add_get(CALLBACK_PATH, callback, name="dc-callback")
    # The consent page's form leads through the callback to the app: it names the app's host
    # and allows its origin.
    relay = app[settings_key].issuer + CALLBACK_PATH
    app.setdefault(redirect_relays_key, {})[relay] = lambda r: _target_of(r, relay)

"""Back-channel endpoints: token (RFC 6749 §3.2), revocation (RFC 7009), introspection
(RFC 7662) and server metadata (RFC 8414).

Each handler follows the same four steps (see :mod:`proxy.oauth.glue`): read the request,
load the exchange, let authlib decide, apply the decisions. Every answer carries
``Cache-Control: no-store``; every error is an RFC 6749 JSON error, never a 500.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from consent.scopes import METER_DATA
from consent.vocabulary import Dataset
from proxy.errors import InvalidRequest, OAuthError
from proxy.keys import (
    clock_key,
    oauth_server_key,
    settings_key,
    token_store_key,
)
from proxy.oauth.exchange import AUTH_METHODS, GRANT_TYPES, Exchange
from proxy.oauth.glue import Carrier, Snapshot, bound, read_snapshot
from proxy.oauth.grants import CODE_TTL
from proxy.oauth.server import MAX_ACCESS_TTL, PasserelleServer

PATHS = {
    "authorization_endpoint": "/oauth2/authorize",
    "token_endpoint": "/oauth2/token",
    "revocation_endpoint": "/oauth2/revoke",
    "introspection_endpoint": "/oauth2/introspect",
}


def new_exchange(request: web.Request, access_ttl: timedelta | None = None) -> Exchange:
    """An empty exchange at the request's instant; its access tokens live ``access_ttl``, by
    default the settings' (at most :data:`MAX_ACCESS_TTL`)."""
    settings = request.app[settings_key]
    if access_ttl is None:
        access_ttl = min(MAX_ACCESS_TTL, timedelta(seconds=max(1, settings.access_token_ttl)))
    return Exchange(now=request.app[clock_key].now(), issuer=settings.issuer,
                    access_ttl=access_ttl,
                    code_ttl=CODE_TTL,
                    refresh_idle=timedelta(days=max(1, settings.refresh_token_idle_days)))


async def run_back_channel(request: web.Request, snapshot: Snapshot, run: str, *,
                           access_ttl: timedelta | None = None) -> Carrier:
    """Load, let authlib decide (``run``: ``"token"``, ``"revocation"`` or
    ``"introspection"``), apply; raises :class:`OAuthError` (the native and the Data Connect
    endpoints render it each their way)."""
    server: PasserelleServer = request.app[oauth_server_key]
    store = request.app[token_store_key]
    exchange = new_exchange(request, access_ttl)
    await store.load(exchange, snapshot, presented_in="refresh_token" if run == "token"
                     else "token")
    try:
        with bound(exchange):
            carrier: Carrier = (server.create_token_response(snapshot) if run == "token"
                                else server.create_endpoint_response(run, snapshot))
    except ValueError:
        # authlib refuses to build an error description holding characters RFC 6749
        # forbids: the input that caused it is malformed.
        raise InvalidRequest("A parameter holds characters that are not allowed.") from None
    await store.apply(exchange)
    return carrier


async def _back_channel(request: web.Request, run: str) -> web.Response:
    server: PasserelleServer = request.app[oauth_server_key]
    try:
        if request.query:
            raise InvalidRequest("Send the parameters in the form body, not in the URL.")
        snapshot = await read_snapshot(request, server.issuer, use_query=False, use_form=True)
        carrier = await run_back_channel(request, snapshot, run)
    except OAuthError as error:
        return error.to_response()
    return carrier.to_response()


async def token(request: web.Request) -> web.Response:
    """``POST /oauth2/token``: authorization_code, refresh_token, client_credentials."""
    return await _back_channel(request, "token")


async def revoke(request: web.Request) -> web.Response:
    """``POST /oauth2/revoke`` (RFC 7009): always 200 for a token that is not the client's."""
    return await _back_channel(request, "revocation")


async def introspect(request: web.Request) -> web.Response:
    """``POST /oauth2/introspect`` (RFC 7662): authenticated clients, their own tokens."""
    return await _back_channel(request, "introspection")


def metadata_document(issuer: str) -> dict[str, Any]:
    """The RFC 8414 document: what this server does, and only that."""
    return {
        "issuer": issuer,
        **{name: issuer + path for name, path in PATHS.items()},
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": sorted(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": [d.value for d in Dataset],
        "authorization_details_types_supported": [METER_DATA],
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["fr", "en"],
    }


async def metadata(request: web.Request) -> web.Response:
    """``GET /.well-known/oauth-authorization-server``."""
    issuer = request.app[settings_key].issuer
    return web.json_response(metadata_document(issuer),
                             headers={"Cache-Control": "public, max-age=3600"})

"""OAuth and HTTP-edge errors: the ``proxy`` branch of the error tree (see ``consent/errors.py``).

Each class declares its HTTP status and its registered OAuth ``error`` code as ``code``, so the
edge renders every one of them the same way: an RFC 6749 §5.2 JSON body
(``{"error": ..., "error_description": ...}``) with ``Cache-Control: no-store``, plus a
``WWW-Authenticate`` challenge for the RFC 6750 bearer errors.

::

    PasserelleError
    └── OAuthError (400 server_error)                      RFC 6749 §5.2, RFC 6750 §3.1
        ├── InvalidRequest (400 invalid_request)           malformed, duplicated, oversized
        ├── InvalidClient (401 invalid_client)             unknown client / bad secret
        ├── InvalidGrant (400 invalid_grant)               code or refresh token bad/used/expired
        ├── UnauthorizedClient (400 unauthorized_client)   grant type not allowed for the client
        ├── UnsupportedGrantType (400 unsupported_grant_type)
        ├── UnsupportedResponseType (400 unsupported_response_type)
        ├── UnsupportedTokenType (400 unsupported_token_type)   RFC 7009 §2.2.1
        ├── InvalidScope (400 invalid_scope)               unknown or beyond what is registered
        ├── InvalidAuthorizationDetails (400 invalid_authorization_details)   RFC 9396 §5
        ├── OAuthAccessDenied (403 access_denied)          the household refused
        ├── InvalidClientMetadata (400 invalid_client_metadata)   RFC 7591 §3.2.2
        ├── InvalidRedirectUri (400 invalid_redirect_uri)  RFC 7591 §3.2.2
        ├── TemporarilyUnavailable (503 temporarily_unavailable)
        └── BearerError (401)                              RFC 6750 §3: carry a challenge
            ├── MissingToken (401, no error code)          §3.1: no credentials at all
            ├── InvalidToken (401 invalid_token)
            ├── InsufficientScope (403 insufficient_scope)
            └── InvalidBearerRequest (400 invalid_request)
"""

from __future__ import annotations

from typing import Any, ClassVar

from aiohttp import web

from consent.errors import PasserelleError

#: Responses that carry credentials or decisions must never be cached (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(PasserelleError):
    """Base of the OAuth errors; ``code`` is the RFC 6749 ``error`` value."""

    status = 400
    code = "server_error"
    title = "OAuth error"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title, **extra)

    def oauth_body(self) -> dict[str, str]:
        """The RFC 6749 §5.2 error object (the description is ASCII-safe, no secret)."""
        body = {"error": self.code}
        if self.detail:
            body["error_description"] = ascii_description(self.detail)
        return body

    def response_headers(self) -> dict[str, str]:
        """Extra headers of the error response."""
        return dict(NO_STORE)

    def to_response(self) -> web.Response:
        """Render as an RFC 6749 JSON error response."""
        return web.json_response(self.oauth_body(), status=self.status,
                                 headers=self.response_headers())


class InvalidRequest(OAuthError):
    """Missing, duplicated, oversized or malformed parameter (RFC 6749 §4.1.2.1, §5.2)."""

    code = "invalid_request"
    title = "The request is malformed."


class InvalidClient(OAuthError):
    """Client authentication failed (RFC 6749 §5.2): answered 401 with a Basic challenge."""

    status = 401
    code = "invalid_client"
    title = "Client authentication failed."

    def response_headers(self) -> dict[str, str]:
        return {**NO_STORE, "WWW-Authenticate": 'Basic realm="passerelle"'}


class InvalidGrant(OAuthError):
    """Code or refresh token invalid, expired, revoked, reused, or issued to another client."""

    code = "invalid_grant"
    title = "The grant is invalid, expired or revoked."


class UnauthorizedClient(OAuthError):
    """The client may not use this grant or response type."""

    code = "unauthorized_client"
    title = "The client is not allowed to use this grant."


class UnsupportedGrantType(OAuthError):
    """Only authorization_code, refresh_token and client_credentials are served (RFC 9700 §2.4)."""

    code = "unsupported_grant_type"
    title = "This grant type is not supported."


class UnsupportedResponseType(OAuthError):
    """Only ``response_type=code`` is served (RFC 9700 §2.1.2: no implicit grant)."""

    code = "unsupported_response_type"
    title = "This response type is not supported."


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1: the server cannot revoke this kind of token."""

    code = "unsupported_token_type"
    title = "This token type is not supported."


class InvalidScope(OAuthError):
    """A scope is unknown, or beyond what the recipient registered or the household approved."""

    code = "invalid_scope"
    title = "The requested scope is invalid."


class InvalidAuthorizationDetails(OAuthError):
    """RFC 9396 §5: ``authorization_details`` malformed, of an unknown type, or not allowed."""

    code = "invalid_authorization_details"
    title = "The authorization details are invalid."


class OAuthAccessDenied(OAuthError):
    """The household (or the server) refused the authorization request."""

    status = 403
    code = "access_denied"
    title = "The authorization request was refused."


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2: a registration field is missing or invalid."""

    code = "invalid_client_metadata"
    title = "The client metadata is invalid."


class InvalidRedirectUri(OAuthError):
    """RFC 7591 §3.2.2: a redirect URI is not absolute https (or loopback http)."""

    code = "invalid_redirect_uri"
    title = "A redirect URI is invalid."


class TemporarilyUnavailable(OAuthError):
    """Too many attempts, or a dependency is down; retry later."""

    status = 503
    code = "temporarily_unavailable"
    title = "Temporarily unavailable."


class BearerError(OAuthError):
    """RFC 6750 §3: errors of a protected resource, answered with a ``Bearer`` challenge."""

    status = 401
    code = "invalid_token"
    realm: ClassVar[str] = "passerelle"

    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value (RFC 6750 §3)."""
        params = [f'realm="{self.realm}"', f'error="{self.code}"']
        if self.detail:
            params.append(f'error_description="{ascii_description(self.detail)}"')
        scope = self.extra.get("scope")
        if scope:
            params.append(f'scope="{ascii_description(str(scope))}"')
        return "Bearer " + ", ".join(params)

    def response_headers(self) -> dict[str, str]:
        return {**NO_STORE, "WWW-Authenticate": self.challenge()}


class MissingToken(BearerError):
    """No access token at all: RFC 6750 §3.1 says the challenge carries no error code."""

    title = "An access token is required."

    def challenge(self) -> str:
        return f'Bearer realm="{self.realm}"'

    def oauth_body(self) -> dict[str, str]:
        return {"error": "invalid_request", "error_description": ascii_description(self.detail)}


class InvalidToken(BearerError):
    """The access token is unknown, expired, revoked, or its consent is no longer active."""

    code = "invalid_token"
    title = "The access token is invalid, expired or revoked."


class InsufficientScope(BearerError):
    """The token is valid but does not cover the dataset asked for (RFC 6750 §3.1)."""

    status = 403
    code = "insufficient_scope"
    title = "The access token does not cover this request."


class InvalidBearerRequest(BearerError):
    """The credentials are malformed (two Authorization headers, bad syntax...)."""

    status = 400
    code = "invalid_request"
    title = "The Authorization header is malformed."


def ascii_description(text: str) -> str:
    """``text`` within RFC 6749 §5.2's ``error_description`` alphabet (%x20-21 / %x23-5B /
    %x5D-7E): anything else becomes ``?``. Also safe inside a quoted header parameter."""
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in text)


#: RFC 6749 ``error`` value -> our class, used to translate authlib's errors at the boundary.
BY_CODE: dict[str, type[OAuthError]] = {
    cls.code: cls
    for cls in (InvalidRequest, InvalidClient, InvalidGrant, UnauthorizedClient,
                UnsupportedGrantType, UnsupportedResponseType, UnsupportedTokenType,
                InvalidScope, InvalidAuthorizationDetails, OAuthAccessDenied,
                InvalidClientMetadata, InvalidRedirectUri, TemporarilyUnavailable)
}

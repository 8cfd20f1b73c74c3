"""The authlib :class:`AuthorizationServer`, assembled for Passerelle.

Registered: the code grant (with :class:`~proxy.oauth.grants.S256Only` and
:class:`~proxy.oauth.grants.AccessRequestCheck`), refresh with rotation, client credentials,
RFC 7009 revocation, RFC 7662 introspection, RFC 9207 ``iss``. Not registered, on purpose:
implicit and resource owner password (RFC 9700 §2.1.2, §2.4).

Tokens are opaque (``pas_at_...``, ``pas_rt_...``) and stored as SHA-256 digests, not JWTs:
Passerelle's only resource server is itself, so nothing gains from self-contained tokens, and
withdrawing a consent must stop its tokens at once (a JWT would need a revocation check at every
call anyway). Access tokens live the exchange's ``access_ttl`` (at most one hour on
Passerelle's own endpoints; by default Data Connect's 12,600 s, the most, on its compatible
token endpoint, whose client-credentials tokens are app-wide, every request checked against
the consent of the point it reads), and never beyond the consent they serve.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import AuthorizationServer, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter

from consent.errors import DomainError
from consent.models import new_id
from consent.models.oauth import OAuthToken, TokenKind
from consent.scopes import parse_scope
from consent.tokens import ACCESS_PREFIX, REFRESH_PREFIX, digest, matches, new_secret
from proxy.errors import BY_CODE, InvalidRequest, OAuthError, ascii_description
from proxy.oauth.exchange import AUTH_METHODS, Grantee, Issued, OAuthClient, TokenRecord
from proxy.oauth.glue import Carrier, Snapshot, current_exchange
from proxy.oauth.grants import AccessRequestCheck, AppGrant, CodeGrant, RefreshGrant, S256Only
from proxy.settings import DATA_CONNECT_TOKEN_SECONDS

#: Upper bound of access-token lifetimes on Passerelle's own endpoints, whatever the settings say.
MAX_ACCESS_TTL = timedelta(hours=1)
#: Upper bound of any access token's lifetime, the Data Connect-compatible endpoint's included.
ABSOLUTE_MAX_ACCESS_TTL = timedelta(seconds=DATA_CONNECT_TOKEN_SECONDS)


class PasserelleServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's server whose hooks read the request's exchange (see :mod:`.glue`)."""

    def __init__(self, issuer: str) -> None:
        super().__init__(scopes_supported=None)
        self.issuer = issuer
        self.register_grant(CodeGrant, [S256Only(required=True), AccessRequestCheck()])
        self.register_grant(RefreshGrant)
        self.register_grant(AppGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_extension(_issuer_parameter(issuer))
        self.register_token_generator("default", generate_token)

    def query_client(self, client_id: str) -> OAuthClient | None:
        return current_exchange().client(client_id)

    def save_token(self, token: dict[str, Any], request: Snapshot) -> None:
        exchange = current_exchange()
        grant_type = request.payload.grant_type or "authorization_code"
        exchange.issued.append(Issued(token, grant_type, request.client, request.user))

    def create_oauth2_request(self, request: Snapshot) -> Snapshot:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Carrier:
        return Carrier(status, body, headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        current_exchange().events.append((name, kwargs))

    def validate_requested_scope(self, scope: str | None) -> None:
        try:
            parse_scope(scope)
        except DomainError as error:
            raise InvalidScopeError(description=ascii_description(error.detail)) from None

    def handle_error_response(self, request: Snapshot, error: OAuth2Error) -> Carrier:
        if error.redirect_uri:  # validated against the client's registered URIs by authlib
            return Carrier(*error())
        return to_carrier(translate(error))


#: Our own sentence where authlib's says more than a failed client should learn (which
#: authentication methods the client is registered for).
_OWN_DESCRIPTIONS = {"invalid_client": "Client authentication failed."}


def translate(error: OAuth2Error) -> OAuthError:
    """authlib's error as a member of Passerelle's tree (same ``error`` code)."""
    cls = BY_CODE.get(error.error or "", InvalidRequest)
    return cls(_OWN_DESCRIPTIONS.get(error.error or "") or error.get_error_description() or "")


def to_carrier(error: OAuthError) -> Carrier:
    """Render one of our errors through the carrier (JSON body, no-store headers)."""
    return Carrier(error.status, error.oauth_body(), list(error.response_headers().items()))


def generate_token(grant_type: str, client: OAuthClient, user: Grantee | None = None,
                   scope: str | None = None, expires_in: int | None = None,
                   include_refresh_token: bool = True) -> dict[str, Any]:
    """authlib's token generator: opaque tokens; details of the consent reflected (RFC 9396 §7)."""
    exchange = current_exchange()
    expires_at = exchange.now + min(exchange.access_ttl, ABSOLUTE_MAX_ACCESS_TTL)
    if user is not None:
        expires_at = min(expires_at, user.valid_until)
    token: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": new_secret(ACCESS_PREFIX),
        "expires_in": max(1, int((expires_at - exchange.now).total_seconds())),
        "scope": scope or "",
    }
    if user is not None:
        token["authorization_details"] = user.narrowed(scope).to_details()
        token["consent_id"] = user.consent_id
        if include_refresh_token:
            token["refresh_token"] = new_secret(REFRESH_PREFIX)
    return token


def token_rows(issued: Issued, family_id: str | None, now: Any,
               refresh_idle: timedelta, rotated: OAuthToken | None = None) -> list[OAuthToken]:
    """The rows to store for one token response (access, and refresh when there is one).

    The access token carries the scope granted now; a refresh token replacing ``rotated``
    keeps ``rotated``'s scope (RFC 6749 §6: "identical to that of the refresh token included
    by the client"), so narrowing one refresh's access token does not narrow the next.

    A refresh token expires ``refresh_idle`` after issue unless used before (each use issues a
    new one: a sliding window) and never after its consent. Its row outlives its use: a rotated
    token presented again revokes its family (reuse detection), until it expires; then the
    expiry sweep deletes it. So the table holds the tokens of the last ``refresh_idle``, not
    every rotation of a consent's years."""
    token, grantee = issued.token, issued.grantee
    family = family_id or new_id()
    common = {
        "family_id": family,
        "recipient_id": issued.client.recipient.id,
        "tenant_id": issued.client.recipient.tenant_id,
        "account_id": grantee.account_id if grantee else None,
        "consent_id": grantee.consent_id if grantee else None,
        "grant_type": issued.grant_type,
        "scope": token.get("scope", ""),
        "authorization_details": token.get("authorization_details", []),
        "created_at": now,
    }
    rows = [OAuthToken(kind=TokenKind.ACCESS, token_hash=digest(token["access_token"]),
                       expires_at=now + timedelta(seconds=token["expires_in"]), **common)]
    if "refresh_token" in token and grantee is not None:
        if rotated is not None:
            common |= {"scope": rotated.scope,
                       "authorization_details": rotated.authorization_details}
        rows.append(OAuthToken(kind=TokenKind.REFRESH, token_hash=digest(token["refresh_token"]),
                               expires_at=min(grantee.valid_until, now + refresh_idle),
                               **common))
    return rows


class _TokenEndpointMixin:
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def check_params(self, request: Snapshot, client: OAuthClient) -> None:
        """``token`` is required; ``token_type_hint`` is a hint whatever its value: the token
        is looked up among every kind (RFC 7009 §2.1), never refused with
        ``unsupported_token_type`` for a hint authlib does not know (that error is for a
        kind of token the server cannot revoke, and we revoke every kind)."""
        if not request.form.get("token"):
            raise InvalidRequestError(description="The token to revoke or introspect is "
                                                  "missing.")

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        record = current_exchange().token
        if record is None or not matches(token_string, record.row.token_hash):
            return None
        return record


class Revocation(_TokenEndpointMixin, RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009. A refresh token takes its whole family with it (§2.1); another client's token
    is answered like an unknown one (200, nothing revoked), so its existence does not leak."""

    def authenticate_token(self, request: Snapshot, client: OAuthClient) -> TokenRecord | None:
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        return token if token is not None and token.check_client(client) else None

    def revoke_token(self, token: TokenRecord, request: Snapshot) -> None:
        current_exchange().revoked = token


class Introspection(_TokenEndpointMixin, IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662, for authenticated clients about their own tokens only (others: inactive)."""

    def check_permission(self, token: TokenRecord, client: OAuthClient,
                         request: Snapshot) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: TokenRecord) -> dict[str, Any]:
        row = token.row
        exchange = current_exchange()
        if row.consent_id is not None and (exchange.grantee is None
                                           or exchange.grantee.consent_id != row.consent_id):
            return {"active": False}  # its consent is no longer active
        body: dict[str, Any] = {
            "active": True,
            "client_id": token.client.client_id if token.client else None,
            "scope": row.scope,
            "exp": int(row.expires_at.timestamp()),
            "iat": int(row.created_at.timestamp()),
            "iss": exchange.issuer,
            "token_kind": TokenKind(row.kind).value,
            "consent_id": row.consent_id,
            "datasets": sorted(parse_scope(row.scope)),
            "points": [p for d in row.authorization_details for p in d.get("points", [])],  # type: ignore[attr-defined]
            "authorization_details": row.authorization_details,
        }
        if TokenKind(row.kind) is TokenKind.ACCESS:
            body["token_type"] = "Bearer"  # noqa: S105 (a token type, not a secret)
        return body


def _issuer_parameter(issuer: str) -> IssuerParameter:
    class Issuer(IssuerParameter):  # type: ignore[misc]
        def get_issuer(self) -> str:
            return issuer

    return Issuer()


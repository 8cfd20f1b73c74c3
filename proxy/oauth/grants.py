"""authlib grants and extensions with Passerelle's rules (reference §1.6, §3).

* :class:`S256Only`: PKCE is mandatory for every client, ``code_challenge_method=S256`` must be
  sent and ``plain`` is refused (FAPI 2.0 §5.3.2.2; RFC 9700 §2.1.1); a verifier without a
  challenge is refused (RFC 9700 §4.8.2, authlib's own check).
* :class:`AccessRequestCheck`: scope and ``authorization_details`` are parsed together and
  must stay within what the recipient registered (R5, RFC 9396 §5).
* :class:`CodeGrant`: codes live :data:`CODE_TTL` at most (FAPI: 60 s), are single use, and a
  replay marks the family of tokens it issued for revocation (RFC 9700 §4.5.3).
* :class:`RefreshGrant`: rotation on every use; a refresh token presented twice *by the client
  it was issued to* revokes its family (RFC 9700 §4.14.2); another client's is only refused.
* :class:`AppGrant`: client credentials; the token names the app only (Data Connect v5 style).

The grants only read and write the :class:`~proxy.oauth.exchange.Exchange` of the request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    grants,
)
from authlib.oauth2.rfc7636 import CodeChallenge

from consent.errors import DomainError
from consent.models.oauth import AuthorizationCode
from consent.periods import consent_today
from consent.scopes import check_registered, parse_request, parse_scope, scope_of
from consent.tokens import CODE_PREFIX, digest, matches, new_secret
from proxy.errors import ascii_description
from proxy.oauth.exchange import AUTH_METHODS, CodeRecord, Grantee, OAuthClient, TokenRecord
from proxy.oauth.glue import Snapshot, current_exchange

CODE_TTL = timedelta(seconds=60)


class InvalidAuthorizationDetailsError(OAuth2Error):  # type: ignore[misc]
    """RFC 9396 §5 error, redirected to the client like the other authorization errors."""

    error = "invalid_authorization_details"


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256, required of every client at both endpoints."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with "
                                      "code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256 (plain is refused).")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier' (PKCE is required).")
        super().validate_code_verifier(grant, result)


class AccessRequestCheck:
    """Parse scope + authorization_details into an AccessRequest on ``request.access``."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.check)

    def check(self, grant: Any, redirect_uri: str) -> None:
        request: Snapshot = grant.request
        client: OAuthClient = request.client
        try:
            access = parse_request(request.payload.scope,
                                   request.payload.data.get("authorization_details"),
                                   today=consent_today(current_exchange().now))
            access = check_registered(access, client.recipient.may_receive(),
                                      client.recipient.declared_purposes())
        except DomainError as error:
            error_class = (InvalidScopeError if error.code == "invalid-scope"
                           else InvalidAuthorizationDetailsError)
            raise error_class(description=ascii_description(error.detail)) from None
        request.access = access
        request.scope = access.scope


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """Authorization code grant storing into the exchange."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def generate_authorization_code(self) -> str:
        """``pas_ac_`` and 256 random bits, like every secret of ours (docs/oauth.md): the
        prefix lets log redaction and secret scanners find a code wherever it leaks."""
        return new_secret(CODE_PREFIX)

    def save_authorization_code(self, code: str, request: Snapshot) -> None:
        exchange = current_exchange()
        grantee: Grantee = request.user
        exchange.new_code = AuthorizationCode(
            code_hash=digest(code),
            recipient_id=request.client.recipient.id,
            account_id=grantee.account_id,
            consent_id=grantee.consent_id,
            tenant_id=request.client.recipient.tenant_id,
            redirect_uri=request.payload.redirect_uri,
            scope=grantee.access.scope,
            authorization_details=grantee.access.to_details(),
            code_challenge=request.payload.data["code_challenge"],
            code_challenge_method=request.payload.data["code_challenge_method"],
            created_at=exchange.now,
            expires_at=exchange.now + min(exchange.code_ttl, CODE_TTL),
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> CodeRecord | None:
        exchange = current_exchange()
        record = exchange.code
        if record is None or not matches(code, record.row.code_hash):
            return None
        if record.row.recipient_id != client.recipient.id:
            return None
        if record.row.used_at is not None:
            # RFC 9700 §4.5.3: a second use revokes what the first one obtained.
            exchange.families_to_revoke.add(record.row.id)
            return None
        if record.row.expires_at <= exchange.now:
            return None
        return record

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        current_exchange().redeemed = authorization_code

    def authenticate_user(self, authorization_code: CodeRecord) -> Grantee | None:
        grantee = current_exchange().grantee
        if grantee is None or grantee.consent_id != authorization_code.row.consent_id:
            return None  # the consent ended since the code was issued
        return grantee


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """Refresh with rotation and reuse detection."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        exchange = current_exchange()
        record = exchange.token
        if record is None or not record.is_refresh or not matches(refresh_token,
                                                                  record.row.token_hash):
            return None
        if not record.check_client(self.request.client):
            # Another client's token (RFC 6749 §6: bound to the client it was issued to):
            # refused before reuse detection, or any app holding a stale copy of another's
            # token could revoke that app's live family (as the code grant checks first).
            return None
        if record.row.used_at is not None or record.row.revoked_at is not None:
            # Presented again after rotation (or after revocation): someone holds a copy.
            exchange.families_to_revoke.add(record.row.family_id)
            return None
        if record.is_expired():
            return None
        return record

    def authenticate_user(self, refresh_token: TokenRecord) -> Grantee:
        grantee = current_exchange().grantee
        if grantee is None or grantee.consent_id != refresh_token.row.consent_id:
            # authlib would answer invalid_request ("no user"): the grant is what is no longer
            # valid (RFC 6749 §5.2), as for a code whose consent ended.
            raise InvalidGrantError(description="The consent behind this refresh token is not "
                                                "active (suspended, ended or expired).")
        return grantee

    def _validate_token_scope(self, token: TokenRecord) -> None:
        super()._validate_token_scope(token)
        asked = self.request.payload.scope
        if asked is not None and asked != "" and not asked.split():
            # Blank: authlib finds it within any scope, and it would issue a token for nothing.
            raise InvalidScopeError(description="The scope names no dataset; leave it out to "
                                                "keep the refresh token's scope.")
        try:
            # authlib's subset check splits on any whitespace; a scope is separated by spaces
            # only (RFC 6749 §3.3): a tab or a no-break space is an unknown scope here, not a
            # problem+json from the token's issuance later.
            parse_scope(asked)
        except DomainError as error:
            raise InvalidScopeError(description=ascii_description(error.detail)) from None

    def revoke_old_credential(self, refresh_token: TokenRecord) -> None:
        current_exchange().rotated = refresh_token


class AppGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    """Client credentials: a token naming the app only; scope within what it registered."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: OAuthClient = self.request.client
        registered = frozenset(client.recipient.may_receive())
        try:
            asked = parse_scope(self.request.payload.scope) or registered
        except DomainError as error:
            raise InvalidScopeError(description=ascii_description(error.detail)) from None
        if not asked <= registered:
            raise InvalidScopeError(description="The scope exceeds the datasets the client "
                                                "registered.")
        self.request.scope = scope_of(asked)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


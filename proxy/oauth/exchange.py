"""What one OAuth request loaded before authlib ran, and what authlib decided.

The rows are wrapped in the small classes authlib's mixins expect (:class:`OAuthClient`,
:class:`CodeRecord`, :class:`TokenRecord`); authlib's hooks (``query_client``,
``query_authorization_code``, ``save_token``...) read and write only this object, never the
database. The handler then applies the decisions in one transaction (:mod:`proxy.oauth.store`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from consent.client_secrets import verify_client_secret
from consent.models import Recipient, RecipientState
from consent.models.oauth import AuthorizationCode, OAuthToken, TokenKind
from consent.scopes import AccessRequest, parse_scope

#: Default of ``PASSERELLE_REFRESH_TOKEN_IDLE_DAYS``.
DEFAULT_REFRESH_IDLE = timedelta(days=30)

#: Token endpoint client authentication: confidential clients only (no ``none``).
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
#: Grants a client may use; implicit and password are not even registered (RFC 9700 §2.1.2).
GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials"})


@dataclass(frozen=True, slots=True)
class Grantee:
    """The household and the active consent a code or refresh token speaks for."""

    account_id: str
    consent_id: str
    access: AccessRequest
    valid_until: datetime

    def narrowed(self, scope: str | None) -> AccessRequest:
        """The consent's access cut to ``scope`` (a refresh may ask for less, never more)."""
        if not scope:
            return self.access
        return replace(self.access, datasets=self.access.datasets & parse_scope(scope))


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """A :class:`Recipient` as authlib sees it: confidential, code flow, exact redirect URIs."""

    def __init__(self, recipient: Recipient) -> None:
        self.recipient = recipient

    @property
    def client_id(self) -> str:
        return self.recipient.client_id

    @property
    def active(self) -> bool:
        return RecipientState(self.recipient.state) is RecipientState.ACTIVE

    def get_client_id(self) -> str:
        return self.recipient.client_id

    def get_default_redirect_uri(self) -> None:
        # redirect_uri is required in every authorization request: no default is ever used.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        # The scope is checked with the authorization details by PasserelleRequestExtension.
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match against a registered URI (RFC 9700 §4.1.3)."""
        return redirect_uri in self.recipient.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """Constant-time comparison of digests (the secret itself is never stored)."""
        stored = self.recipient.client_secret_hash
        return stored is not None and verify_client_secret(stored, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


class CodeRecord(AuthorizationCodeMixin):  # type: ignore[misc]
    """A stored authorization code."""

    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


class TokenRecord(TokenMixin):  # type: ignore[misc]
    """A stored access or refresh token, judged at the exchange's instant."""

    def __init__(self, row: OAuthToken, client: OAuthClient | None, now: datetime) -> None:
        self.row = row
        self.client = client
        self.now = now

    @property
    def is_refresh(self) -> bool:
        return TokenKind(self.row.kind) is TokenKind.REFRESH

    def check_client(self, client: OAuthClient) -> bool:
        return bool(client.recipient.id == self.row.recipient_id)

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.row.expires_at - self.now).total_seconds()))

    def is_expired(self) -> bool:
        return self.row.expires_at <= self.now

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or (self.is_refresh and self.row.used_at is not None)

    def get_user(self) -> str | None:
        return self.row.account_id

    def get_client(self) -> OAuthClient | None:
        return self.client


@dataclass
class Issued:
    """A token response authlib produced, waiting to be stored."""

    token: dict[str, Any]
    grant_type: str
    client: OAuthClient
    grantee: Grantee | None


@dataclass
class Exchange:
    """Everything one request's authlib call may read, and every decision it made."""

    now: datetime
    issuer: str
    access_ttl: timedelta
    code_ttl: timedelta
    #: A refresh token expires this long after it is issued unless used (rotated) before, and
    #: never after its consent (RFC 9700 §4.14.2).
    refresh_idle: timedelta = DEFAULT_REFRESH_IDLE
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    code: CodeRecord | None = None
    token: TokenRecord | None = None
    grantee: Grantee | None = None
    # decisions, applied after authlib returns
    issued: list[Issued] = field(default_factory=list)
    new_code: AuthorizationCode | None = None
    redeemed: CodeRecord | None = None
    rotated: TokenRecord | None = None
    revoked: TokenRecord | None = None
    families_to_revoke: set[str] = field(default_factory=set)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def issues_only(self) -> bool:
        """True if applying this exchange only stores new tokens: no code written, redeemed
        or revoked, no token rotated or revoked (nothing a concurrent request could race)."""
        return (self.new_code is None and self.redeemed is None and self.rotated is None
                and self.revoked is None and not self.families_to_revoke
                and all(issued.grantee is None for issued in self.issued))

    def client(self, client_id: str | None) -> OAuthClient | None:
        """The active client ``client_id`` (suspended or retired recipients do not exist)."""
        client = self.clients.get(client_id or "")
        return client if client is not None and client.active else None

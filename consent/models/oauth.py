"""What the OAuth server remembers: authorization codes, tokens, browser sessions, and the
answer given to each authorization request.

No secret is stored: codes, tokens and session cookies are random values of at least 256 bits
(:mod:`consent.tokens`), kept as their SHA-256 hex digest, so a database leak gives nothing to
present. A slow hash would add nothing for values with this much entropy.

Token families (RFC 9700 §4.5.3, §4.14.2): every access and refresh token issued from one
authorization code shares ``family_id`` = the code's id, across refresh rotations. Replaying
the code, or presenting a refresh token that was already rotated, revokes the whole family.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from consent.models.base import (
    ID_LENGTH,
    Created,
    TenantScoped,
    enum_field,
    id_field,
    instant_field,
    ref_field,
)

DIGEST_LENGTH = 64


class AuthorizationCode(TenantScoped, Created, table=True):
    """A code issued at the authorization endpoint, bound to client, redirect URI, PKCE
    challenge and the consent the household just granted; single use, short-lived."""

    __tablename__ = "oauth_code"
    __table_args__ = (sa.Index("ix_oauth_code_used_at_expires_at", "used_at", "expires_at"),)

    id: str = id_field()
    code_hash: str = Field(max_length=DIGEST_LENGTH, unique=True)
    recipient_id: str = ref_field("recipient.id")
    account_id: str = ref_field("account.id")
    consent_id: str = ref_field("consent.id")
    redirect_uri: str = Field(max_length=2048)
    scope: str = Field(max_length=1024)
    authorization_details: list[dict[str, object]] = Field(default_factory=list,
                                                           sa_type=sa.JSON)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=8)
    expires_at: datetime = instant_field()
    used_at: datetime | None = instant_field(nullable=True)


class AuthorizationAnswer(TenantScoped, Created, table=True):
    """The one answer given to an authorization request: a form submitted twice (double click,
    back and resubmit, two tabs) finds this row and changes nothing (docs/oauth.md, "One
    answer per request"). ``request_hash`` is the SHA-256 of the request's parameters; its
    UNIQUE constraint is what makes two racing submits collide. ``consent_id`` is the consent
    the answer created (none for a refusal that could not be recorded, or a mandatary's).
    Rows are pruned by age (:func:`consent.answers.prune_answers`), hence the index on
    ``created_at``."""

    __tablename__ = "oauth_answer"
    __table_args__ = (sa.Index("ix_oauth_answer_created_at", "created_at"),)

    id: str = id_field()
    request_hash: str = Field(max_length=DIGEST_LENGTH, unique=True)
    recipient_id: str = ref_field("recipient.id", index=False)
    account_id: str = ref_field("account.id", index=False)
    approved: bool
    consent_id: str | None = ref_field("consent.id", nullable=True, index=False)


class TokenKind(StrEnum):
    """Access tokens are presented to the data API; refresh tokens only to the token endpoint."""

    ACCESS = "access"
    REFRESH = "refresh"


class OAuthToken(TenantScoped, Created, table=True):
    """One opaque token. ``consent_id`` is ``None`` for client-credentials tokens, which name
    the app only (each data request then names a point and its consent is looked up)."""

    __tablename__ = "oauth_token"
    __table_args__ = (sa.Index("ix_oauth_token_expires_at", "expires_at"),)

    id: str = id_field()
    kind: TokenKind = enum_field(TokenKind)
    token_hash: str = Field(max_length=DIGEST_LENGTH, unique=True)
    family_id: str = Field(max_length=ID_LENGTH, index=True)
    recipient_id: str = ref_field("recipient.id")
    account_id: str | None = ref_field("account.id", nullable=True, index=False)
    consent_id: str | None = ref_field("consent.id", nullable=True)
    grant_type: str = Field(max_length=32)
    scope: str = Field(max_length=1024)
    authorization_details: list[dict[str, object]] = Field(default_factory=list,
                                                           sa_type=sa.JSON)
    expires_at: datetime = instant_field()
    used_at: datetime | None = instant_field(nullable=True)
    revoked_at: datetime | None = instant_field(nullable=True)


class BrowserSession(TenantScoped, Created, table=True):
    """A signed-in browser: the cookie's digest, whose account, until when (absolute), and how
    the person signed in (``password``, ``reset``, ``oidc``: evidence of R15).

    ``external_identity_id`` is the linked identity an ``oidc`` session signed in with:
    removing that identity ends exactly the sessions it opened
    (:func:`consent.external_identities.remove_identity`). It is ``NULL`` for other methods,
    for sessions opened before revision 0014, and once the identity is gone (``ON DELETE SET
    NULL``: its sessions were ended first).

    ``authenticated_at`` is when the person last proved who they are, which is what a *recent*
    sign-in is measured from (:data:`proxy.web.session.RECENT_SIGN_IN`), not ``created_at``: a
    password or a reset code proves it as the session opens; through OpenID it is the ID
    token's ``auth_time`` (a provider may sign in silently on its own older session); a session
    re-issued after a password is chosen or changed keeps its predecessor's. ``NULL``
    means unknown (no ``auth_time``; sessions opened before revision 0014): never recent."""

    __tablename__ = "browser_session"
    __table_args__ = (sa.Index("ix_browser_session_expires_at", "expires_at"),)

    id: str = id_field()
    token_hash: str = Field(max_length=DIGEST_LENGTH, unique=True)
    account_id: str = ref_field("account.id")
    expires_at: datetime = instant_field()
    revoked_at: datetime | None = instant_field(nullable=True)
    auth_method: str = Field(default="password", max_length=32)
    external_identity_id: str | None = Field(
        default=None, foreign_key="external_identity.id", ondelete="SET NULL",
        max_length=ID_LENGTH, nullable=True, index=True)
    authenticated_at: datetime | None = instant_field(nullable=True)

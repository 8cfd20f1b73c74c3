"""How households sign in besides a password: external OpenID identities and one-time password
reset codes (R7, R15).

An :class:`ExternalIdentity` ties ``(issuer, subject)`` of an OpenID Connect provider
(FranceConnect, itsme...) to a local :class:`~consent.models.Account`; it is created once, at the
first sign-in through that provider, after the person proved they occupy a point (its meter
number, R15). A :class:`PasswordReset` is a one-time code the operator hands over (counter,
phone, letter: never a mailbox round trip, R7); only its SHA-256 is stored.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from consent.models.base import Created, TenantScoped, id_field, instant_field, ref_field

DIGEST_LENGTH = 64


class ExternalIdentity(TenantScoped, Created, table=True):
    """``subject`` at ``issuer`` signs in as ``account_id``. ``proof`` says how the link was
    established (``meter_number``...); ``last_login_at`` when it was last used."""

    __tablename__ = "external_identity"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "issuer", "subject"),)

    id: str = id_field()
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    account_id: str = ref_field("account.id")
    proof: str = Field(max_length=32)
    last_login_at: datetime | None = instant_field(nullable=True)


class PasswordReset(TenantScoped, Created, table=True):
    """One reset code of ``account_id``: valid until ``expires_at``, used at most once."""

    __tablename__ = "password_reset"
    __table_args__ = (sa.Index("ix_password_reset_expires_at", "expires_at"),)

    id: str = id_field()
    account_id: str = ref_field("account.id")
    code_hash: str = Field(max_length=DIGEST_LENGTH, unique=True)
    issued_by: str = Field(max_length=64)
    expires_at: datetime = instant_field()
    used_at: datetime | None = instant_field(nullable=True)

"""The tables through which replicas share short-lived state (issue 9, "shared nothing but the
database").

None of them holds personal data in clear: login-throttle keys (usernames, client addresses)
are stored as SHA-256 digests, application tokens sealed (AES-256-GCM). The instants of the
rate buckets and quota rings are seconds (``double precision``) on the database's clock, read
in the statement that compares them: replicas' clocks never meet there, since a quota window's
margin (50 ms) is tighter than they are sure to agree.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from consent.models.base import instant_field


class ThrottleAttempt(SQLModel, table=True):
    """``throttle_attempt``: one counted attempt (a sign-in, a proof) of one key of a counter."""

    __tablename__ = "throttle_attempt"
    __table_args__ = (sa.Index("ix_throttle_attempt_counter_key_at", "counter", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    counter: str = Field(max_length=32)
    key: str = Field(max_length=64)  # SHA-256 hex of the counted key, never the key itself
    at: datetime = instant_field()


class RateBucket(SQLModel, table=True):
    """``rate_bucket``: the token bucket of one key (a recipient) of one limit."""

    __tablename__ = "rate_bucket"

    bucket: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=64)
    tokens: float = Field(sa_type=sa.Float(precision=53))
    updated: float = Field(sa_type=sa.Float(precision=53))
    granted: bool = True  # whether the last take succeeded (read back by RETURNING)


class QuotaSlot(SQLModel, table=True):
    """``quota_slot``: a quota ``N per T`` is a ring of ``N`` slots, each holding when the call
    that used it last started. A call may start when some slot's last start is ``T`` old: so no
    interval of length ``T`` ever holds more than ``N`` starts (the DSO's quota, fixed or
    sliding window)."""

    __tablename__ = "quota_slot"
    __table_args__ = (sa.Index("ix_quota_slot_quota_last_start", "quota", "last_start"),)

    quota: str = Field(primary_key=True, max_length=160)
    slot: int = Field(primary_key=True)
    last_start: float = Field(sa_type=sa.Float(precision=53))


class UpstreamToken(SQLModel, table=True):
    """``upstream_token``: the operator's application token at a DSO, sealed, shared by every
    replica so that they do not each fetch their own (a DSO may allow only a few)."""

    __tablename__ = "upstream_token"

    key: str = Field(primary_key=True, max_length=64)  # SHA-256 hex of endpoint|client|scope
    sealed: bytes = Field(sa_type=sa.LargeBinary)
    expires_at: datetime = instant_field()

"""Operator staff: bearer credentials of the staff API, two-person approvals of privileged
actions, and the journal of everything staff did or were refused (R19).

- :class:`StaffToken`: an opaque token bound to one staff :class:`~consent.models.Account`
  (hence one tenant and its roles), stored as its SHA-256 digest like every Passerelle secret.
- :class:`PrivilegedRequest`: a privileged action (key rotation, manual consent change, tenant
  creation) waits here until a *different* operator account approves it; then it runs.
- :class:`StaffAction`: append-only journal: who, in which roles, did or was refused what, on
  which object, when and why.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from consent.models.base import (
    Created,
    TenantScoped,
    enum_field,
    id_field,
    instant_field,
    json_list_field,
    ref_field,
)
from consent.models.history import forbid_changes

_request_version = sa.Column("version", sa.Integer, nullable=False, default=1)


class StaffToken(TenantScoped, Created, table=True):
    """A staff API credential: the digest of ``pas_stf_...``, its account, its expiry."""

    __tablename__ = "staff_token"
    __table_args__ = (sa.Index("ix_staff_token_expires_at", "expires_at"),)

    id: str = id_field()
    token_hash: str = Field(max_length=64, unique=True)
    account_id: str = ref_field("account.id")
    expires_at: datetime = instant_field()
    revoked_at: datetime | None = instant_field(nullable=True)


class PrivilegedKind(StrEnum):
    """Actions that need a second operator's approval (R19)."""

    ROTATE_KEY = "rotate_key"
    CONSENT_CHANGE = "consent_change"
    CREATE_TENANT = "create_tenant"


class ApprovalState(StrEnum):
    """Where a privileged request is: waiting, approved and running, carried out, refused, or
    failed when run."""

    PENDING = "pending"
    APPROVED = "approved"
    EXECUTED = "executed"
    REJECTED = "rejected"
    FAILED = "failed"


class PrivilegedRequest(TenantScoped, Created, table=True):
    """One privileged action asked by ``requested_by``, decided by ``decided_by`` (never the
    same account nor the same person). ``version`` makes two racing decisions collide."""

    __tablename__ = "privileged_request"
    __mapper_args__: ClassVar[dict[str, Any]] = {
        "version_id_col": _request_version,
        "version_id_generator": False,
    }

    id: str = id_field()
    kind: PrivilegedKind = enum_field(PrivilegedKind)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    reason: str = Field(max_length=500)
    state: ApprovalState = enum_field(ApprovalState, index=True)
    requested_by: str = ref_field("account.id", index=False)
    requested_party: str = ref_field("party.id", index=False)
    decided_by: str | None = ref_field("account.id", nullable=True, index=False)
    decided_at: datetime | None = instant_field(nullable=True)
    outcome: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    updated_at: datetime = instant_field()
    version: int = Field(default=1, sa_column=_request_version)


class StaffAction(TenantScoped, table=True):
    """One journal line (append-only). ``outcome`` is ``done`` or ``denied``."""

    __tablename__ = "staff_action"
    __table_args__ = (sa.Index("ix_staff_action_tenant_at", "tenant_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = instant_field()
    account_id: str | None = Field(default=None, max_length=36)
    party_id: str | None = Field(default=None, max_length=36)
    roles: list[str] = json_list_field()
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=200)
    outcome: str = Field(max_length=16)
    detail: str = Field(default="", max_length=500)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


forbid_changes(StaffAction)

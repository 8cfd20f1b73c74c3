"""Tenants, parties and their local login accounts (R3, R19, R24).

A :class:`Party` is anyone who takes part in a workflow: a household (the data subject), a
recipient organisation, the operator, a mandatary organisation (CPAS, PMO organiser, supplier),
an auditor, or a person working for one of them. An :class:`Account` is a local login bound to
one party, with roles that say what the person may do (least privilege, R19).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

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


class Tenant(Created, table=True):
    """One operator's walled area of a shared platform (R24). ``default`` always exists."""

    __tablename__ = "tenant"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)


class PartyKind(StrEnum):
    """What a party is (domain.md, "The parties")."""

    HOUSEHOLD = "household"
    RECIPIENT = "recipient"
    OPERATOR = "operator"
    MANDATARY_ORGANISATION = "mandatary_organisation"
    SOCIAL_SERVICES = "social_services"  # a CPAS/OCMW: may hold standing mandates (R11)
    AUDITOR = "auditor"
    PERSON = "person"


class Party(TenantScoped, Created, table=True):
    """Someone who takes part in a workflow.

    ``member_of_id`` ties a person to the organisation it works for (a reviewer to the
    operator, a social worker to a CPAS). ``external_ref`` holds an official number when there
    is one (SIRET, KBO/BCE number); it is not an identity proof (R15).
    """

    __tablename__ = "party"

    id: str = id_field()
    kind: PartyKind = enum_field(PartyKind, index=True)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    external_ref: str | None = Field(default=None, max_length=64)
    member_of_id: str | None = ref_field("party.id", nullable=True)


class AccountRole(StrEnum):
    """What a login may do. An account may hold several roles; none implies another."""

    HOUSEHOLD = "household"
    MANDATARY = "mandatary"
    OPERATOR_ADMIN = "operator_admin"
    REVIEWER = "reviewer"
    SUPPORT = "support"
    AUDITOR = "auditor"


class Account(TenantScoped, Created, table=True):
    """A local login (username + argon2id hash, see :mod:`consent.accounts`).

    ``roles`` is a JSON list of :class:`AccountRole` values; use :meth:`has_role`.
    """

    __tablename__ = "account"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "username"),)

    id: str = id_field()
    username: str = Field(max_length=150)
    password_hash: str = Field(max_length=255)
    party_id: str = ref_field("party.id")
    roles: list[str] = json_list_field()
    disabled: bool = Field(default=False)
    password_changed_at: datetime | None = instant_field(nullable=True)

    def has_role(self, role: AccountRole) -> bool:
        """True if the account holds ``role`` (and is not disabled)."""
        return not self.disabled and role.value in self.roles


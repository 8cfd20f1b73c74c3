"""The recipient registry: third-party apps that read meter data as OAuth clients (R5, R21).

Only the hash of a client secret is stored (:mod:`consent.client_secrets`); lists (purposes,
datasets, redirect URIs) are JSON arrays of vocabulary values, validated by the services.
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
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.vocabulary import Dataset


class RecipientState(StrEnum):
    """Whether a recipient may obtain and use tokens."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class Recipient(TenantScoped, Created, table=True):
    """A registered third-party app (an OAuth client) and what it declared (R5, R21).

    ``allowed_datasets`` bounds every consent it can ever get; ``redirect_uris`` are compared
    exactly (RFC 9700 §4.1.3); ``is_supplier`` marks energy suppliers, which R13 restricts to
    points where they hold a contract. ``supplier_code`` is a supplier's code as DSOs report it
    (:mod:`consent.supplier_codes`), what the upstream's supply contracts are matched on: one
    supplier per code in a tenant (the unique index; NULLs, the other recipients, do not
    collide).
    """

    __tablename__ = "recipient"
    __table_args__ = (sa.Index("uq_recipient_supplier_code", "tenant_id", "supplier_code",
                               unique=True),)

    id: str = id_field()
    party_id: str = ref_field("party.id")
    name: str = Field(max_length=200)
    website: str = Field(max_length=500)
    logo_url: str | None = Field(default=None, max_length=500)
    contact_email: str = Field(max_length=320)
    purposes: list[str] = json_list_field()
    legal_basis: LegalBasis = enum_field(LegalBasis)
    data_role: DataRole = enum_field(DataRole)
    is_supplier: bool = Field(default=False)
    supplier_code: str | None = Field(default=None, max_length=64)
    allowed_datasets: list[str] = json_list_field()
    redirect_uris: list[str] = json_list_field()
    client_id: str = Field(max_length=64, unique=True)
    client_secret_hash: str | None = Field(default=None, max_length=255)
    state: RecipientState = enum_field(RecipientState, default=RecipientState.ACTIVE)
    updated_at: datetime = instant_field()

    def declared_purposes(self) -> list[Purpose]:
        """The declared purposes as vocabulary terms."""
        return [Purpose(p) for p in self.purposes]

    def may_receive(self) -> list[Dataset]:
        """The datasets this recipient may ever be granted."""
        return [Dataset(d) for d in self.allowed_datasets]

"""Metadata of proof documents ("pièces justificatives", R2, R10): signed mandates, contracts,
identity or occupancy proofs.

The bytes live encrypted in the evidence blob store (consent/evidence/); this table keeps what
is needed to find, check and review them: media type, size, SHA-256 of the plaintext, storage
key, and the review (who uploaded, who reviewed: never the same person, R19).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field

from consent.models.base import (
    Created,
    TenantScoped,
    enum_field,
    id_field,
    instant_field,
    ref_field,
)


class ProofKind(StrEnum):
    """What a document proves."""

    SIGNED_MANDATE = "signed_mandate"
    CONTRACT = "contract"
    IDENTITY = "identity"
    OCCUPANCY = "occupancy"
    OTHER = "other"


class ReviewState(StrEnum):
    """Where the document is in its review."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ProofDocument(TenantScoped, Created, table=True):
    """One stored document; ``created_at`` is the upload instant."""

    __tablename__ = "proof_document"

    id: str = id_field()
    kind: ProofKind = enum_field(ProofKind)
    media_type: str = Field(max_length=100)
    size_bytes: int = Field(ge=0)
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200, unique=True)
    review_state: ReviewState = enum_field(ReviewState, default=ReviewState.PENDING)
    uploaded_by: str = ref_field("party.id", index=False)
    reviewed_by: str | None = ref_field("party.id", nullable=True, index=False)
    reviewed_at: datetime | None = instant_field(nullable=True)
    review_note: str = Field(default="", max_length=500)


class MandateProof(TenantScoped, table=True):
    """Proof ``proof_id`` supports mandate ``mandate_id``."""

    __tablename__ = "mandate_proof"

    mandate_id: str = Field(foreign_key="mandate.id", primary_key=True, max_length=36)
    proof_id: str = Field(foreign_key="proof_document.id", primary_key=True, max_length=36)


class ConsentProof(TenantScoped, table=True):
    """Proof ``proof_id`` supports consent ``consent_id``."""

    __tablename__ = "consent_proof"

    consent_id: str = Field(foreign_key="consent.id", primary_key=True, max_length=36)
    proof_id: str = Field(foreign_key="proof_document.id", primary_key=True, max_length=36)


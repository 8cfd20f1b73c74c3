"""The erasure journal: one row per household whose personal data was erased (GDPR art. 17,
R23; docs/operations.md §8).

The row names the household by its opaque id only, with when, by whom (``cli:<user>`` or
``account:<id>``) and the operator's reason: it must hold no personal data itself, since it
exists to outlive the data it records. A restore from a backup older than the erasure brings
the personal data back; ``passerelle households reapply-erasures`` reads the journal (exported
before the restore, :mod:`consent.services.erasure`) and erases them again. ``household_id``
has no foreign key on purpose: a journal re-imported into a restored database may name a
household the backup predates.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from consent.models.base import ID_LENGTH, TenantScoped, id_field, instant_field
from consent.models.history import forbid_changes


class ErasureRecord(TenantScoped, table=True):
    """Household ``household_id`` of ``tenant_id`` was erased at ``erased_at`` (append-only)."""

    __tablename__ = "erasure_journal"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "household_id"),)

    id: str = id_field()
    household_id: str = Field(max_length=ID_LENGTH)
    erased_at: datetime = instant_field()
    actor: str = Field(max_length=150)
    reason: str = Field(default="", max_length=500)


forbid_changes(ErasureRecord)

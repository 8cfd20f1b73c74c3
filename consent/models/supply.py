"""Supply contracts as the upstream reports them (R13).

A supplier (a recipient registered with ``is_supplier``) may read a point only while it holds
the supply contract of that point. Who holds it is the DSO's knowledge, not the supplier's
claim: rows are written from what an adapter reports (the ``contract`` record's ``supplier``
and activation date) or what the operator enters from the DSO's notice, never by the supplier.
``[starts_at, ends_at)`` is half-open; a point has at most one contract at any instant.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from consent.models.base import Created, TenantScoped, id_field, instant_field, ref_field
from consent.periods import Period


class SupplyContract(TenantScoped, Created, table=True):
    """Supplier ``supplier_id`` (a recipient) supplies point ``point_id`` over the period.

    ``supplier_code`` is the supplier's name or code exactly as the DSO reported it (kept as
    evidence of the match); ``reported_by`` says through which channel it came.
    """

    __tablename__ = "supply_contract"
    __table_args__ = (sa.Index("ix_supply_contract_point_start", "point_id", "starts_at"),)

    id: str = id_field()
    point_id: str = ref_field("metering_point.id", index=False)
    supplier_id: str = ref_field("recipient.id")
    supplier_code: str = Field(max_length=200)
    starts_at: datetime = instant_field()
    ends_at: datetime | None = instant_field(nullable=True)
    reported_by: str = Field(max_length=16)
    updated_at: datetime = instant_field()

    @property
    def period(self) -> Period:
        """The contract as a half-open period."""
        return Period(self.starts_at, self.ends_at)

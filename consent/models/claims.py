"""What a household did on the ground: claiming a point (R15) and asking for the meter's user
port to be opened or closed (R20).

A :class:`PointClaim` is kept for every attempt, accepted or refused: it is the evidence of how
occupancy was proven (the meter number as second factor where the operator is the DSO, or the
DSO's own consent page), and refused attempts feed the throttle that stops meter-number guessing.
A :class:`PortRequestRecord` follows one open/close request at the DSO against the 24-hour limit.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from consent.models.base import (
    Created,
    TenantScoped,
    enum_field,
    id_field,
    instant_field,
    ref_field,
)


class ClaimMethod(StrEnum):
    """How the household proved it occupies the point (R15)."""

    METER_NUMBER = "meter_number"  # the operator is the DSO: the number printed on the meter
    UPSTREAM = "upstream"  # the DSO's own consent page (Data Connect, ADICT...)


class ClaimOutcome(StrEnum):
    """Whether the claim was accepted."""

    ACCEPTED = "accepted"
    REFUSED = "refused"


class PointClaim(TenantScoped, Created, table=True):
    """One claim attempt. ``point`` is the reference as typed (the point may be unknown here);
    ``point_id`` is set once it is registered. ``dso_customer`` is the DSO's opaque reference of
    the customer period the claim was matched to; ``reason`` says why a claim was refused."""

    __tablename__ = "point_claim"

    id: str = id_field()
    household_id: str = ref_field("party.id")
    account_id: str = ref_field("account.id", index=False)
    point: str = Field(max_length=64)
    point_id: str | None = ref_field("metering_point.id", nullable=True)
    method: ClaimMethod = enum_field(ClaimMethod, length=16)
    outcome: ClaimOutcome = enum_field(ClaimOutcome, length=16)
    reason: str = Field(default="", max_length=200)
    dso_customer: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


class PortRequestState(StrEnum):
    """Where a port request stands, as last seen at the DSO."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


class PortRequestRecord(TenantScoped, Created, table=True):
    """A household's request to open or close its meter's user port (R20). ``deadline_at`` is
    ``requested_at`` + 24 hours; ``completed_at`` after it means the DSO was late."""

    __tablename__ = "meter_port_request"

    id: str = id_field()
    household_id: str = ref_field("party.id")
    account_id: str = ref_field("account.id", index=False)
    point_id: str = ref_field("metering_point.id")
    action: str = Field(max_length=8)
    upstream_request_id: str = Field(max_length=64)
    state: PortRequestState = enum_field(PortRequestState, length=16)
    requested_at: datetime = instant_field()
    deadline_at: datetime = instant_field()
    completed_at: datetime | None = instant_field(nullable=True)
    checked_at: datetime | None = instant_field(nullable=True)

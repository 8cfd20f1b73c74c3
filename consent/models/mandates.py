"""Mandates: a household (mandator) lets a mandatary act for it, backed by proof documents
(R2, R10, R11).

``scope`` says what the mandatary may do: read the data itself, manage the household's
consents, or both; ``datasets`` and the points in :class:`MandatePoint` bound it. A mandate
becomes active only after a reviewer (not the uploader, R19) has checked its proofs.
``valid_until`` ``None`` is a standing mandate (R11: social services), which still ends by
withdrawal or revocation. ``version`` works as for consents.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from consent.lifecycle import MandateState
from consent.models.base import (
    Created,
    TenantScoped,
    enum_field,
    id_field,
    instant_field,
    json_list_field,
    ref_field,
)
from consent.models.history import TransitionEvent, forbid_changes
from consent.periods import Period

_mandate_version = sa.Column("version", sa.Integer, nullable=False, default=1)


class MandateScope(StrEnum):
    """What a mandate lets the mandatary do."""

    READ_DATA = "read_data"
    MANAGE_CONSENTS = "manage_consents"
    BOTH = "both"

    @property
    def manages_consents(self) -> bool:
        """True if the mandatary may grant, renew and withdraw consents for the mandator."""
        return self in {MandateScope.MANAGE_CONSENTS, MandateScope.BOTH}

    @property
    def reads_data(self) -> bool:
        """True if the mandatary may read the mandator's data itself."""
        return self in {MandateScope.READ_DATA, MandateScope.BOTH}


class Mandate(TenantScoped, Created, table=True):
    """One mandate; points in :class:`MandatePoint`, history in :class:`MandateEvent`."""

    __tablename__ = "mandate"
    __mapper_args__: ClassVar[dict[str, Any]] = {
        "version_id_col": _mandate_version,
        "version_id_generator": False,  # the services bump it explicitly
    }

    id: str = id_field()
    mandator_id: str = ref_field("party.id")
    mandatary_id: str = ref_field("party.id")
    scope: MandateScope = enum_field(MandateScope)
    datasets: list[str] = json_list_field()
    valid_from: datetime = instant_field()
    valid_until: datetime | None = instant_field(nullable=True)
    state: MandateState = enum_field(MandateState, index=True)
    updated_at: datetime = instant_field()
    ended_at: datetime | None = instant_field(nullable=True)
    version: int = Field(default=1, sa_column=_mandate_version)

    @property
    def validity(self) -> Period:
        """``[valid_from, valid_until)``; open-ended for a standing mandate."""
        return Period(self.valid_from, self.valid_until)


class MandatePoint(TenantScoped, table=True):
    """Point ``point_id`` is covered by mandate ``mandate_id``."""

    __tablename__ = "mandate_point"

    mandate_id: str = Field(foreign_key="mandate.id", primary_key=True, max_length=36)
    point_id: str = Field(foreign_key="metering_point.id", primary_key=True, max_length=36)


class MandateEvent(TransitionEvent, table=True):
    """One accepted transition of a mandate (append-only)."""

    __tablename__ = "mandate_event"

    mandate_id: str = ref_field("mandate.id")


forbid_changes(MandateEvent)

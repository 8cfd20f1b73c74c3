"""Consents: a household lets one recipient read some datasets of some of its points, at a
given resolution, over an access period, with a bounded look-back (R1, R6, R8, R12).

Two windows are kept apart (consent-models.md §8.1): the *access period*
``[valid_from, valid_until)`` is when the recipient may call, capped (default three years); the
*data window* is how far back it may read: not before ``data_from`` (if set), not more than
``history_days`` before the moment of the read (at most three years, R12), and never before the
grantor's occupancy began (R8, enforced at read time against :class:`Occupancy`).

``view`` (R4): an *individual* consent lets the recipient read the points on their own; a
*community* one lets the organiser of the community ``community_id`` use them only inside that
community's aggregate (:mod:`consent.community_consent`). Consents from before the distinction
are individual (the column's server default).

``arrangement_id`` is stable across renewals and amendments (CDR ``cdr_arrangement_id``, §8.4),
so a household sees one line per app. ``version`` is the optimistic-concurrency counter: the
ORM adds ``WHERE version = <read version>`` to every UPDATE, so of two racing transitions only
one can win (the other gets :class:`~consent.errors.ConcurrentUpdate`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from consent.lifecycle import ConsentState
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
from consent.purposes import ConsentView, LegalBasis, Purpose
from consent.storage.types import EnumText
from consent.vocabulary import Dataset, Resolution

_consent_version = sa.Column("version", sa.Integer, nullable=False, default=1)


class Consent(TenantScoped, Created, table=True):
    """One consent; its points are in :class:`ConsentPoint`, its history in
    :class:`ConsentEvent`."""

    __tablename__ = "consent"
    __mapper_args__: ClassVar[dict[str, Any]] = {
        "version_id_col": _consent_version,
        "version_id_generator": False,  # the services bump it explicitly
    }

    id: str = id_field()
    arrangement_id: str = Field(max_length=36, index=True)
    supersedes_id: str | None = ref_field("consent.id", nullable=True, index=False)
    grantor_id: str = ref_field("party.id")
    recipient_id: str = ref_field("recipient.id")
    mandate_id: str | None = ref_field("mandate.id", nullable=True, index=False)
    datasets: list[str] = json_list_field()
    max_resolution: Resolution = enum_field(Resolution, length=8)
    valid_from: datetime = instant_field()
    valid_until: datetime = instant_field()
    data_from: datetime | None = instant_field(nullable=True)
    history_days: int = Field(ge=1)
    purpose: Purpose = enum_field(Purpose)
    legal_basis: LegalBasis = enum_field(LegalBasis)
    state: ConsentState = enum_field(ConsentState, index=True)
    view: ConsentView = Field(
        default=ConsentView.INDIVIDUAL,
        sa_column=sa.Column("view", EnumText(ConsentView, 16), nullable=False,
                            server_default=ConsentView.INDIVIDUAL.value))
    community_id: str | None = ref_field("community.id", nullable=True, index=False)
    text_version: str | None = Field(default=None, max_length=64)
    text_hash: str | None = Field(default=None, max_length=64)
    updated_at: datetime = instant_field()
    granted_at: datetime | None = instant_field(nullable=True)
    ended_at: datetime | None = instant_field(nullable=True)
    version: int = Field(default=1, sa_column=_consent_version)

    @property
    def access_period(self) -> Period:
        """When the recipient may call: ``[valid_from, valid_until)``."""
        return Period(self.valid_from, self.valid_until)

    def covers_dataset(self, dataset: Dataset) -> bool:
        """True if ``dataset`` is among the consented datasets."""
        return dataset.value in self.datasets

    def earliest_data(self, at: datetime) -> datetime:
        """The oldest instant a read made at ``at`` may return (before the occupancy cut, R8)."""
        earliest = at - timedelta(days=self.history_days)
        if self.data_from is not None and self.data_from > earliest:
            return self.data_from
        return earliest


class ConsentPoint(TenantScoped, table=True):
    """Point ``point_id`` is covered by consent ``consent_id``.

    Indexed by point too: every data request looks up the consents on one point, and with a
    million consents a scan of this table is what the consent check would cost (bench/).
    """

    __tablename__ = "consent_point"
    __table_args__ = (sa.Index("ix_consent_point_point_id", "point_id"),)

    consent_id: str = Field(foreign_key="consent.id", primary_key=True, max_length=36)
    point_id: str = Field(foreign_key="metering_point.id", primary_key=True, max_length=36)


class ConsentEvent(TransitionEvent, table=True):
    """One accepted transition of a consent (append-only)."""

    __tablename__ = "consent_event"

    consent_id: str = ref_field("consent.id")


forbid_changes(ConsentEvent)

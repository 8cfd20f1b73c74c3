"""Metering points, who occupies them when (R8, R9), and what the operator holds upstream.

A :class:`MeteringPoint` is named by a validated :class:`~consent.identifiers.PointRef`
(source + identifier, unique per tenant). An :class:`Occupancy` says which household is the
client of the point over ``[starts_at, ends_at)``: data and consents follow it (R8), and a new
occupant ends the previous one at the move-in instant (R9). An
:class:`UpstreamAuthorisation` is what the operator holds at the DSO for the point
(see :mod:`consent.upstream`).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Field

from consent.identifiers import PointRef, Source
from consent.models.base import (
    Created,
    TenantScoped,
    enum_field,
    id_field,
    instant_field,
    json_list_field,
    ref_field,
)
from consent.periods import Period
from consent.upstream import UpstreamKind, UpstreamState
from consent.vocabulary import Dataset, Direction, Energy

#: Local time zone of a source's points, unless told otherwise.
DEFAULT_TIMEZONES = {
    Source.ENEDIS: "Europe/Paris",
    Source.GRDF: "Europe/Paris",
    Source.BE_EAN: "Europe/Brussels",
    Source.INHOUSE: "Europe/Brussels",
}


class MeteringPoint(TenantScoped, Created, table=True):
    """One metering point: source, validated identifier, energy, directions, time zone."""

    __tablename__ = "metering_point"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "source", "identifier"),)

    id: str = id_field()
    source: Source = enum_field(Source)
    identifier: str = Field(max_length=32)
    energy: Energy = enum_field(Energy)
    directions: list[str] = json_list_field()
    timezone: str = Field(max_length=64)

    @property
    def ref(self) -> PointRef:
        """The validated reference (raises if the stored identifier were ever corrupted)."""
        return PointRef(Source(self.source), self.identifier)

    @property
    def zone(self) -> ZoneInfo:
        """The point's local time zone (calendar days, gas days)."""
        return ZoneInfo(self.timezone)

    def has_direction(self, direction: Direction) -> bool:
        """True if the point meters ``direction`` (a prosumer's point has both)."""
        return direction.value in self.directions

    def can_have(self, dataset: Dataset) -> bool:
        """True if the point's energy and directions can give ``dataset``
        (:meth:`~consent.vocabulary.DatasetSpec.metered_by`)."""
        return dataset.spec.metered_by(Energy(self.energy), self.directions)


class Occupancy(TenantScoped, Created, table=True):
    """Household ``household_id`` is the client of point ``point_id`` over ``[starts_at,
    ends_at)``; ``ends_at`` ``None`` means "still there". Periods of one point never overlap:
    writers hold the point's lock (:mod:`consent.services.point_lock`), and the database keeps
    at most one open occupancy per point (``uq_occupancy_open_point``)."""

    __tablename__ = "occupancy"
    __table_args__ = (
        sa.Index("ix_occupancy_point_start", "point_id", "starts_at"),
        sa.Index("uq_occupancy_open_point", "point_id", unique=True,
                 sqlite_where=sa.text("ends_at IS NULL"),
                 postgresql_where=sa.text("ends_at IS NULL")),
    )

    id: str = id_field()
    point_id: str = ref_field("metering_point.id", index=False)
    household_id: str = ref_field("party.id")
    starts_at: datetime = instant_field()
    ends_at: datetime | None = instant_field(nullable=True)

    @property
    def period(self) -> Period:
        """The occupancy as a half-open :class:`Period`."""
        return Period(self.starts_at, self.ends_at)


class UpstreamAuthorisation(TenantScoped, Created, table=True):
    """What the operator holds at the DSO for a point: kind, upstream id, validity, state.

    ``household_id`` is who gave it (the occupant at the time); ``last_checked_at`` is when an
    adapter last confirmed ``state`` with the DSO.
    """

    __tablename__ = "upstream_authorisation"

    id: str = id_field()
    point_id: str = ref_field("metering_point.id")
    household_id: str | None = ref_field("party.id", nullable=True)
    kind: UpstreamKind = enum_field(UpstreamKind)
    upstream_id: str = Field(max_length=128)
    valid_from: datetime = instant_field()
    valid_until: datetime | None = instant_field(nullable=True)
    state: UpstreamState = enum_field(UpstreamState)
    last_checked_at: datetime | None = instant_field(nullable=True)
    updated_at: datetime = instant_field()

    def usable_at(self, instant: datetime) -> bool:
        """True if data may be fetched under this authorisation at ``instant``."""
        return UpstreamState(self.state).usable and Period(self.valid_from,
                                                           self.valid_until).contains(instant)

"""Collective self-consumption communities (PMO, R4).

An organiser (a recipient app run by the *personne morale organisatrice*) runs a
:class:`Community`; :class:`CommunityMember` lists which point of which household takes part.
Membership alone releases nothing: each member's data reaches the organiser only through that
member's own consent to the organiser's app, a separate record (R4). ``min_members`` is the k of
the community dataset: an aggregate is served only when at least k members are in it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from consent.models.base import Created, TenantScoped, id_field, instant_field, ref_field

#: Default k: the fewest members an aggregate may be computed over.
DEFAULT_MIN_MEMBERS = 5
#: The bounds of any k: one member is no aggregate (R4); the column is a 32-bit integer, and no
#: collective self-consumption operation comes near ten thousand members.
MIN_COMMUNITY_K = 2
MAX_COMMUNITY_K = 10_000


class Community(TenantScoped, Created, table=True):
    """One collective self-consumption operation and the organiser's app (a recipient)."""

    __tablename__ = "community"

    id: str = id_field()
    name: str = Field(max_length=200)
    organiser_id: str = ref_field("recipient.id")
    min_members: int = Field(default=DEFAULT_MIN_MEMBERS, ge=MIN_COMMUNITY_K,
                             le=MAX_COMMUNITY_K)


class CommunityMember(TenantScoped, table=True):
    """Point ``point_id`` of household ``household_id`` takes part over ``[joined_at,
    left_at)``."""

    __tablename__ = "community_member"

    community_id: str = Field(foreign_key="community.id", primary_key=True, max_length=36)
    point_id: str = Field(foreign_key="metering_point.id", primary_key=True, max_length=36)
    household_id: str = ref_field("party.id")
    joined_at: datetime = instant_field()
    left_at: datetime | None = instant_field(nullable=True)

"""R4: communities, their members, and the k rule of the community dataset."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from consent.clock import FrozenClock
from consent.community import RULE, aggregate
from consent.errors import AccessDenied, Conflict, DomainError, NotFound, NotPermitted
from consent.identifiers import PointRef, Source
from consent.purposes import Purpose
from consent.readings import Quality, Reading, Series
from consent.services.communities import CommunityService
from consent.storage import Database
from consent.vocabulary import Dataset, Resolution
from tests.rules.conftest import Rules, register_app
from tests.support.world import ALICE_PRM, BOB_PRM

DAY = datetime(2026, 11, 1, tzinfo=UTC)


def _series(n: int, days: int = 2, skip: int | None = None) -> Series:
    readings = tuple(
        Reading(DAY + timedelta(days=d), DAY + timedelta(days=d + 1), Decimal(1000 + n),
                Quality.ESTIMATED if (n, d) == (0, 0) else Quality.VALIDATED)
        for d in range(days) if d != skip)
    point = PointRef(Source.ENEDIS, f"{22516914714200 + n}")
    return Series(point, Dataset.DAILY_CONSUMPTION, "Wh", Resolution.P1D, "UTC", readings)


def _member(n: int, household: int | None = None, *,
            skip: int | None = None) -> tuple[str, Series]:
    """Point ``n`` of household ``household`` (its own household if not given)."""
    return f"h{n if household is None else household}", _series(n, skip=skip)


def test_an_aggregate_needs_k_members() -> None:
    with pytest.raises(AccessDenied) as denied:
        aggregate("c", Dataset.DAILY_CONSUMPTION, Resolution.P1D, "UTC",
                  [_member(n) for n in range(4)], k=5)
    assert denied.value.rule == RULE
    assert denied.value.allowed == {"min_members": 5}
    five = aggregate("c", Dataset.DAILY_CONSUMPTION, Resolution.P1D, "UTC",
                     [_member(n) for n in range(5)], k=5)
    assert five.members == 5
    assert [r.value for r in five.readings] == [Decimal(5010), Decimal(5010)]
    assert five.readings[0].quality is Quality.ESTIMATED  # the least trustworthy member's


def test_households_are_counted_not_points() -> None:
    """Six points of four households: one household's two points do not make two members."""
    points = [_member(n, household=min(n, 3)) for n in range(6)]  # h3 has points 3, 4 and 5
    with pytest.raises(AccessDenied) as denied:
        aggregate("c", Dataset.DAILY_CONSUMPTION, Resolution.P1D, "UTC", points, k=5)
    assert "Only 4 household(s)" in denied.value.detail
    with_fifth = aggregate("c", Dataset.DAILY_CONSUMPTION, Resolution.P1D, "UTC",
                           [*points, _member(6)], k=5)
    assert with_fifth.members == 5
    assert with_fifth.readings[0].value == sum(Decimal(1000 + n) for n in range(7))


def test_an_interval_with_fewer_than_k_values_is_not_published() -> None:
    members = [_member(n, skip=1 if n == 0 else None) for n in range(5)]
    result = aggregate("c", Dataset.DAILY_CONSUMPTION, Resolution.P1D, "UTC", members, k=5)
    assert [r.start for r in result.readings] == [DAY]
    assert result.to_json()["members"] == 5
    # A second point of a household already there does not make up for the missing value.
    again = aggregate("c", Dataset.DAILY_CONSUMPTION, Resolution.P1D, "UTC",
                      [*members, _member(5, household=1)], k=5)
    assert [r.start for r in again.readings] == [DAY]


def test_only_additive_datasets_aggregate() -> None:
    with pytest.raises(DomainError):
        aggregate("c", Dataset.DAILY_MAX_POWER, Resolution.P1D, "UTC",
                  [_member(n) for n in range(5)], k=5)


async def test_membership(rules: Rules, clock: FrozenClock, db: Database) -> None:
    w, communities = rules.world, rules.communities
    pmo = await register_app(db, clock, "PMO", Purpose.COLLECTIVE_SELF_CONSUMPTION)
    with pytest.raises(NotPermitted, match="collective"):  # Dash runs no community
        await communities.create(w.as_operator, name="X", organiser_id=w.recipient.id)
    with pytest.raises(DomainError, match="at least 5"):
        await communities.create(w.as_operator, name="X", organiser_id=pmo, min_members=4)
    with pytest.raises(NotPermitted):
        await communities.create(w.as_alice, name="X", organiser_id=pmo)
    community = await communities.create(w.as_operator, name="Quartier", organiser_id=pmo)
    assert community.min_members == 5
    await communities.add_member(w.as_operator, community.id, w.alice.id, ALICE_PRM)
    with pytest.raises(Conflict):
        await communities.add_member(w.as_operator, community.id, w.alice.id, ALICE_PRM)
    with pytest.raises(NotPermitted, match="R8"):  # Bob's point, in Alice's name
        await communities.add_member(w.as_operator, community.id, w.alice.id, BOB_PRM)
    await communities.add_member(w.as_operator, community.id, w.bob.id, BOB_PRM)
    members = await communities.members("default", community.id)
    assert [(m.household_id, m.point) for m in members] == [(w.alice.id, ALICE_PRM),
                                                            (w.bob.id, BOB_PRM)]
    with pytest.raises(NotFound):  # Bob cannot remove Alice
        await communities.leave(w.actor(w.bob, w.as_alice.role), community.id, ALICE_PRM)
    await communities.leave(w.as_alice, community.id, ALICE_PRM)
    assert [m.point for m in await communities.members("default", community.id)] == [BOB_PRM]
    await communities.add_member(w.as_operator, community.id, w.alice.id, ALICE_PRM)  # rejoin
    with pytest.raises(NotFound):
        await communities.members("elsewhere", community.id)
    with pytest.raises(ValueError, match="two members"):
        CommunityService(db, clock, min_members=1)


# Review 2: the same point added by requests at once: the losers' IntegrityError was a 500
# (and concurrent rejoins each replaced the last one's row); it is a 409 Conflict.
async def test_the_same_member_added_at_once_joins_once(rules: Rules, clock: FrozenClock,
                                                        db: Database) -> None:
    w, communities = rules.world, rules.communities
    pmo = await register_app(db, clock, "PMO", Purpose.COLLECTIVE_SELF_CONSUMPTION)
    community = await communities.create(w.as_operator, name="Twice", organiser_id=pmo)

    async def join() -> str:
        try:
            await communities.add_member(w.as_operator, community.id, w.alice.id, ALICE_PRM)
        except Conflict as error:
            return f"conflict on {error.extra['field']}"
        return "joined"

    for _round in ("join", "rejoin"):
        assert sorted(await asyncio.gather(*(join() for _ in range(4)))) == [
            "conflict on point"] * 3 + ["joined"]
        assert [m.point for m in await communities.members("default", community.id)] == [
            ALICE_PRM]
        await communities.leave(w.as_alice, community.id, ALICE_PRM)

"""The deterministic demo: its plan is coherent, seeding fills an empty database once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlmodel import select

from consent.accounts import verify_password
from consent.client_secrets import verify_client_secret
from consent.clock import FrozenClock
from consent.demo import DEMO_PLAN, describe, seed_demo
from consent.identifiers import Source
from consent.models import (
    Account,
    MeteringPoint,
    Occupancy,
    Party,
    PartyKind,
    Recipient,
    UpstreamAuthorisation,
)
from consent.services import registry
from consent.storage import Database
from consent.upstream import UpstreamState
from consent.vocabulary import Direction, Energy

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_the_plan_has_the_households_the_demo_promises() -> None:
    plan = DEMO_PLAN
    assert len(plan.households) >= 4
    assert len(plan.recipients) == 5
    prosumers = [p for p in plan.points if Direction.PRODUCTION in p.directions]
    assert prosumers
    both = [h.key for h in plan.households
            if {p.source for p in plan.points_of(h.key, NOW)} >= {Source.ENEDIS, Source.GRDF}]
    assert both
    belgian = [p for p in plan.points if p.source is Source.INHOUSE]
    assert belgian  # PointRef construction in .ref validated their GS1 check digits
    assert all(p.ref.identifier.startswith("54") for p in belgian)


def test_a_move_in_ends_the_previous_occupancy_at_that_instant() -> None:  # R8, R9
    moved = [p for p in DEMO_PLAN.points if len(p.occupancies) > 1]
    assert moved
    for point in moved:
        for before, after in zip(point.occupancies, point.occupancies[1:], strict=False):
            assert before.ends_at == after.starts_at
        last = point.occupancies[-1]
        assert last.ends_at is None
        assert (NOW - last.starts_at).days < 90  # "recently"
        assert point.occupant_at(last.starts_at) == last.household


def test_ids_and_secrets_are_deterministic() -> None:
    first, second = describe(DEMO_PLAN), describe(DEMO_PLAN)
    assert first == second
    secrets = {c["client_secret"] for c in first["clients"]}
    assert len(secrets) == 5
    assert all(len(s) >= 43 for s in secrets)


@pytest.mark.usefixtures("fast_password_hashing")
async def test_seed_fills_an_empty_database_once(db: Database, clock: FrozenClock) -> None:
    report = await seed_demo(db, DEMO_PLAN, clock)
    assert report.seeded
    counts = await _counts(db)
    # 12 households (the seventh Jambes neighbour gives the demo's community consent, R4),
    # 6 staff, 3 organisations, 4 apps with their own party (the CPAS's app belongs to the
    # CPAS).
    assert counts == {"Party": 12 + 6 + 3 + 4, "Account": 18, "MeteringPoint": 14,
                      "Occupancy": 16, "UpstreamAuthorisation": 16, "Recipient": 5}
    again = await seed_demo(db, DEMO_PLAN, clock)
    assert not again.seeded
    assert await _counts(db) == counts

    async with db.session() as session:
        sofia = (await session.exec(select(Account).where(Account.username == "sofia"))).one()
        assert verify_password(sofia.password_hash, DEMO_PLAN.household("sofia").password)
        assert sofia.party_id == DEMO_PLAN.id_for("party", "sofia")
        for demo_recipient in DEMO_PLAN.recipients:
            recipient = (await session.exec(select(Recipient).where(
                Recipient.client_id == demo_recipient.client_id))).one()
            assert verify_client_secret(recipient.client_secret_hash or "",
                                        DEMO_PLAN.client_secret(demo_recipient))
        lille = (await session.exec(select(MeteringPoint).where(
            MeteringPoint.identifier == "30001610071843"))).one()
        assert lille.energy is Energy.ELECTRICITY
        periods = (await session.exec(select(Occupancy).where(
            Occupancy.point_id == lille.id).order_by(Occupancy.starts_at))).all()
        assert periods[0].ends_at == periods[1].starts_at
        upstream = (await session.exec(select(UpstreamAuthorisation).where(
            UpstreamAuthorisation.point_id == lille.id).order_by(
            UpstreamAuthorisation.valid_from))).all()
        assert [u.state for u in upstream] == [UpstreamState.ENDED, UpstreamState.ACTIVE]
        assert upstream[1].usable_at(NOW)
        assert not upstream[0].usable_at(NOW)


@pytest.mark.usefixtures("fast_password_hashing")
async def test_seed_leaves_a_non_empty_database_alone(db: Database, clock: FrozenClock) -> None:
    async with db.session() as session:
        await registry.add_party(session, tenant_id="default", kind=PartyKind.OPERATOR,
                                 name="Real operator", now=clock.now())
    report = await seed_demo(db, DEMO_PLAN, clock)
    assert not report.seeded
    assert (await _counts(db))["Party"] == 1


async def _counts(db: Database) -> dict[str, int]:
    counts = {}
    async with db.session() as session:
        for model in (Party, Account, MeteringPoint, Occupancy, UpstreamAuthorisation,
                      Recipient):
            counts[model.__name__] = (await session.exec(
                select(func.count()).select_from(model))).one()
    return counts

"""Column types behave the same on both backends: aware UTC instants, enums, JSON lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import select

from consent.models import Party, PartyKind
from consent.storage import Database


async def test_instants_come_back_aware_in_utc(db: Database) -> None:
    paris_summer = datetime(2026, 7, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    async with db.session() as session:
        session.add(Party(id="p1", kind=PartyKind.HOUSEHOLD, name="A", created_at=paris_summer))
    async with db.session() as session:
        party = (await session.exec(select(Party).where(Party.id == "p1"))).one()
    assert party.created_at == paris_summer
    assert party.created_at.utcoffset() == timedelta(0)
    assert party.created_at.hour == 10
    assert party.kind is PartyKind.HOUSEHOLD


async def test_naive_instants_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive"):
        async with db.session() as session:
            session.add(Party(id="p2", kind=PartyKind.HOUSEHOLD, name="B",
                              created_at=datetime(2026, 1, 1)))


async def test_instants_compare_in_queries(db: Database) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    async with db.session() as session:
        for n in range(3):
            session.add(Party(id=f"q{n}", kind=PartyKind.PERSON, name=str(n),
                              created_at=base + timedelta(hours=n)))
    async with db.session() as session:
        later = (await session.exec(select(Party.id).where(
            Party.created_at > base + timedelta(minutes=30)).order_by(Party.id))).all()
    assert later == ["q1", "q2"]

"""Row counts, to prove that a failed operation wrote nothing."""

from __future__ import annotations

from sqlalchemy import func, inspect, table
from sqlalchemy import select as select_rows
from sqlmodel import SQLModel, select

from consent.models import (
    Consent,
    ConsentEvent,
    ConsentPoint,
    Mandate,
    MandateEvent,
    MandatePoint,
    ProofDocument,
)
from consent.storage import Database

WATCHED: tuple[type[SQLModel], ...] = (Consent, ConsentPoint, ConsentEvent, Mandate,
                                       MandatePoint, MandateEvent, ProofDocument)


async def row_counts(db: Database) -> dict[str, int]:
    """Number of rows of each consent/mandate table."""
    counts = {}
    async with db.session() as session:
        for model in WATCHED:
            statement = select(func.count()).select_from(model)
            counts[model.__name__] = (await session.exec(statement)).one()
    return counts


async def table_counts(db: Database) -> dict[str, int]:
    """Number of rows of *every* table in the database (found by the inspector, so a table
    added later is watched too): what a step that must write all or nothing is held to."""
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        return {name: int((await conn.execute(select_rows(func.count()).select_from(
            table(name)))).scalar_one()) for name in sorted(names)}


def growth(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The tables whose row count changed from ``before`` to ``after``, and by how much."""
    return {name: after.get(name, 0) - before.get(name, 0)
            for name in sorted(before.keys() | after.keys())
            if after.get(name, 0) != before.get(name, 0)}

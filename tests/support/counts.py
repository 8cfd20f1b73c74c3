"""Row counts, to prove that a failed operation wrote nothing."""

from __future__ import annotations

from sqlalchemy import func
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

"""What the staff journal and the evidence log hold, to prove a privileged act was recorded, and
that no secret was (``passerelle admin-token``, ``passerelle staff token``)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from consent.evidence.log_reader import ENTRY
from consent.models import StaffAction
from consent.storage import Database

STAFF = StaffAction.__table__  # type: ignore[attr-defined]


async def journal_and_events(url: str) -> tuple[list[tuple[str, str, str, str]],
                                                list[dict[str, str]], str]:
    """The journal rows (tenant, action, target, outcome), the admin events' payloads, and every
    column of both as one text."""
    db = Database.from_url(url)
    try:
        async with db.engine.connect() as conn:
            journal = (await conn.execute(sa.select(STAFF).order_by(STAFF.c.id))).all()
            entries = (await conn.execute(sa.select(ENTRY).order_by(ENTRY.c.idx))).all()
    finally:
        await db.dispose()
    dump = " ".join(str(value) for row in [*journal, *entries] for value in row)
    events = [json.loads(e.payload) for e in entries if e.kind == "admin"]
    return ([(r.tenant_id, r.action, r.target, r.outcome) for r in journal], events, dump)


async def tables_holding(url: str, text: str) -> list[str]:
    """The tables of the database at ``url`` with a column value that contains ``text``."""
    db = Database.from_url(url)
    try:
        async with db.engine.connect() as conn:
            metadata = sa.MetaData()
            await conn.run_sync(metadata.reflect)
            found = []
            for table in metadata.sorted_tables:
                rows = (await conn.execute(sa.select(table))).all()
                if any(text in str(value) for row in rows for value in row):
                    found.append(table.name)
    finally:
        await db.dispose()
    return found

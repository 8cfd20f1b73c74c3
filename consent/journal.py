"""The staff journal: every staff action, done or denied, on an append-only record (R16, R19).

:class:`StaffJournal` writes each entry in its own transaction, so a refusal is recorded even
though the refused action wrote nothing. Extra sinks (the evidence log, once wired) receive the
same entries after they are stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.models import StaffAction
from consent.storage import Database

DONE = "done"
DENIED = "denied"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """Who (account, party, roles, tenant) did or was refused what, on which object, why."""

    tenant_id: str
    at: datetime
    action: str
    outcome: str
    account_id: str | None = None
    party_id: str | None = None
    roles: tuple[str, ...] = ()
    target: str = ""
    detail: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


JournalSink = Callable[[JournalEntry], Awaitable[None]]


def add_entry(session: AsyncSession, entry: JournalEntry) -> None:
    """Add ``entry``'s row inside the caller's transaction (no sink runs: a caller that writes
    the action and its record together, like ``passerelle admin-token``, logs it itself)."""
    session.add(StaffAction(
        tenant_id=entry.tenant_id, at=entry.at, account_id=entry.account_id,
        party_id=entry.party_id, roles=list(entry.roles), action=entry.action[:64],
        target=entry.target[:200], outcome=entry.outcome, detail=entry.detail[:500],
        details=dict(entry.details)))


class StaffJournal:
    """Appends entries to ``staff_action`` and forwards them to the extra sinks."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sinks: list[JournalSink] = []

    async def record(self, entry: JournalEntry) -> None:
        """Store ``entry`` (its own transaction), then hand it to every sink."""
        async with self.db.session() as session:
            add_entry(session, entry)
        for sink in self.sinks:
            await sink(entry)

    async def entries(self, tenant_id: str, *, since: datetime | None = None,
                      after: int = 0, limit: int = 500) -> list[StaffAction]:
        """The tenant's entries, oldest first (in id order): those with an id above ``after``
        and, if ``since`` is given, made at or after it; at most ``limit``."""
        statement = select(StaffAction).where(StaffAction.tenant_id == tenant_id,
                                              col(StaffAction.id) > after)
        if since is not None:
            statement = statement.where(col(StaffAction.at) >= since)
        statement = statement.order_by(col(StaffAction.id)).limit(limit)
        async with self.db.session() as session:
            return list((await session.exec(statement)).all())

"""Staff actions into the evidence log (R16, R19).

Every staff journal entry becomes an :class:`~consent.evidence.events.AdminEvent` of its tenant.
A privileged act done on the command line (minting or revoking an admin API token, issuing
a staff token) is recorded by :func:`record_in`, inside the act's own transaction. Mandate
changes need nothing here: the mandate service's evidence listener signs and logs each
of them in the change's own transaction (:mod:`consent.evidence.lifecycle`), with how the staff
member was authenticated (:meth:`consent.staff.StaffPrincipal.actor`).
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from consent.evidence.events import AdminEvent, Refs
from consent.evidence.log import EvidenceLog
from consent.evidence.service import Evidence, origin_for
from consent.journal import JournalEntry, add_entry
from consent.storage import Database


def admin_event(entry: JournalEntry, actor: str | None = None) -> AdminEvent:
    """The journal entry as an admin event of its tenant; ``actor`` when no account acted (a
    command line: ``cli:<user>``)."""
    return AdminEvent(
        at=entry.at, actor=actor or f"account:{entry.account_id}", action=entry.action,
        refs=Refs(tenant=entry.tenant_id), target=entry.target or None,
        details={"outcome": entry.outcome, "detail": entry.detail, "roles": list(entry.roles),
                 **{k: v for k, v in entry.details.items()
                    if isinstance(v, str | int | bool | None)}})


async def record_in(session: AsyncSession, db: Database, issuer: str, entry: JournalEntry,
                    actor: str) -> None:
    """Journal ``entry`` and log it as an admin event of ``actor`` (``cli:<user>``), both in
    ``session``'s transaction: the act, its journal row and its evidence commit or roll back
    together, so no act stands without its record. ``issuer`` names the evidence log's origin.
    Callers never put a secret, nor its digest, in ``entry``."""
    add_entry(session, entry)
    await EvidenceLog(db, origin=origin_for(issuer)).append_in(
        await session.connection(), [admin_event(entry, actor).to_log_event()])


class EvidenceRecorder:
    """Appends the journal's staff actions to the evidence log."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence

    async def admin(self, entry: JournalEntry) -> None:
        """A journal sink: the entry as an admin event of its tenant."""
        await self.evidence.admin(admin_event(entry))

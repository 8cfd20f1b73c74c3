"""Mandate changes and staff actions into the evidence log (R16, R18, R19).

The domain writes a mandate change and its event in one transaction; once it is committed, the
staff handler that caused it appends the signed :class:`~consent.evidence.records.MandateRecord`
(a full snapshot: mandator, mandatary, scope, validity, who acted, the proofs and their review)
and every journal entry becomes an :class:`~consent.evidence.events.AdminEvent`. An evidence
failure after the commit is logged, never turned into a failure of what already happened.
"""

from __future__ import annotations

import logging

from sqlmodel import col, select

from consent.evidence.events import AdminEvent, Refs
from consent.evidence.records import Actor as RecordActor
from consent.evidence.records import Authentication, DocumentRef, MandateRecord, Scope
from consent.evidence.service import Evidence
from consent.journal import JournalEntry
from consent.models import Mandate, MandateEvent, MandatePoint, MeteringPoint, Party
from consent.services.mandates import MandateService
from consent.storage import Database

log = logging.getLogger("passerelle.staff")


class EvidenceRecorder:
    """Builds and appends the evidence of mandate changes and staff actions."""

    def __init__(self, db: Database, evidence: Evidence, mandates: MandateService) -> None:
        self.db = db
        self.evidence = evidence
        self.mandates = mandates

    async def admin(self, entry: JournalEntry) -> None:
        """A journal sink: the entry as an admin event of its tenant."""
        await self.evidence.admin(AdminEvent(
            at=entry.at, actor=f"account:{entry.account_id}", action=entry.action,
            refs=Refs(tenant=entry.tenant_id), target=entry.target or None,
            details={"outcome": entry.outcome, "detail": entry.detail,
                     "roles": list(entry.roles),
                     **{k: v for k, v in entry.details.items()
                        if isinstance(v, str | int | bool | None)}}))

    async def mandate_changes(self, events: list[MandateEvent], *,
                              authenticated_as: str | None = None) -> None:
        """Append one signed record per event (after the transaction that wrote them)."""
        for event in events:
            try:
                await self.evidence.record(await self._record(event, authenticated_as))
            except Exception:
                log.exception("could not record mandate event %s as evidence", event.id)

    async def _record(self, event: MandateEvent, authenticated_as: str | None) -> MandateRecord:
        async with self.db.session() as session:
            mandate = await session.get(Mandate, event.mandate_id)
            assert mandate is not None
            mandatary = await session.get(Party, mandate.mandatary_id)
            points = (await session.exec(select(MeteringPoint).join(
                MandatePoint, col(MandatePoint.point_id) == col(MeteringPoint.id)).where(
                MandatePoint.mandate_id == mandate.id))).all()
        proofs = await self.mandates.proofs(mandate.tenant_id, mandate.id)
        authentication = None
        if authenticated_as is not None:
            authentication = Authentication("staff_token", authenticated_as, event.at)
        return MandateRecord(
            tenant=mandate.tenant_id, mandate_id=mandate.id, version=event.version,
            action=event.action, state=event.to_state, at=event.at,
            household_id=mandate.mandator_id, mandatary_id=mandate.mandatary_id,
            mandatary_kind=str(mandatary.kind) if mandatary else "unknown",
            purpose=f"mandate:{mandate.scope}",
            scope=Scope(tuple(str(p.ref) for p in points), tuple(mandate.datasets)),
            valid_from=mandate.valid_from, valid_until=mandate.valid_until,
            actor=RecordActor(str(event.actor_role), str(event.channel), event.actor_party_id,
                              event.actor_account_id),
            authentication=authentication, reason=event.reason,
            documents=tuple(DocumentRef(p.id, str(p.kind), p.media_type, p.sha256,
                                        p.size_bytes, str(p.review_state)) for p in proofs))

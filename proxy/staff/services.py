"""The services behind the staff API and the market rules, built once per application."""

from __future__ import annotations

from dataclasses import dataclass

from consent.evidence.service import Evidence
from consent.journal import StaffJournal
from consent.models import ProofDocument, ProofKind, new_id
from consent.services import Actor, ConsentService, MandateService, OccupancyService, ProofUpload
from consent.services.communities import CommunityService
from consent.services.erasure import ErasureService
from consent.services.privileged import PrivilegedService
from consent.services.supply import SupplyService
from proxy.staff.records import EvidenceRecorder


@dataclass(frozen=True, slots=True)
class RuleServices:
    """Mandates, communities, supply contracts, occupancy, privileged actions, erasure (R23),
    the staff journal, the evidence service they record into and the recorder that writes
    there."""

    consents: ConsentService
    mandates: MandateService
    occupancy: OccupancyService
    supply: SupplyService
    communities: CommunityService
    privileged: PrivilegedService
    journal: StaffJournal
    evidence: Evidence
    recorder: EvidenceRecorder
    erasure: ErasureService

    async def attach_mandate_proof(self, actor: Actor, mandate_id: str, kind: ProofKind,
                                   data: bytes, content_type: str) -> ProofDocument:
        """Store a mandate's proof document and record its metadata in one transaction (R2):
        the bytes (checked by content, sealed in the database) and the ``proof_document`` row
        commit together, so a refused attachment (mandate state, standing, proof count) keeps
        neither, and no stored document is without its metadata."""
        async with self.mandates.db.session() as session:
            stored = await self.evidence.blobs.put_in(
                await session.connection(), new_id(), data, content_type,
                tenant=actor.tenant_id)
            return await self.mandates.attach_proof_in(session, actor, mandate_id, ProofUpload(
                kind, stored.media_type, stored.size, stored.sha256, stored.document_id))

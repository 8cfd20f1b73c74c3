"""The written path of a consent (R14): its proofs and a reviewer's verdict (R2, R19).

Used by :class:`~consent.services.ConsentService` inside its transactions; the state changes
themselves (``submit``, ``approve``, ``refuse``) go through the consent state machine there.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import IllegalTransition
from consent.lifecycle import ConsentState
from consent.models import Consent, ConsentProof, Mandate, ProofDocument
from consent.services.base import Actor
from consent.services.mandate_rules import ProofUpload
from consent.services.queries import get_row
from consent.services.reviews import add_proof, check_reviewer, proofs_of, record_verdict


async def consent_proofs(session: AsyncSession, consent_id: str) -> list[ProofDocument]:
    """The proofs of a consent, oldest first."""
    return await proofs_of(session, ConsentProof, "consent_id", consent_id)


async def attach_consent_proof(session: AsyncSession, actor: Actor, consent: Consent,
                               upload: ProofUpload, now: datetime) -> ProofDocument:
    """Record a stored document as a proof of a consent being requested or reviewed (the
    caller has checked the actor's standing)."""
    if ConsentState(consent.state) not in (ConsentState.REQUESTED, ConsentState.PENDING_REVIEW):
        raise IllegalTransition(
            f"Proofs are added while a consent is requested or under review, not when it is "
            f"{consent.state}.", from_state=consent.state, to_state=consent.state,
            action="attach_proof")
    proof = await add_proof(session, actor, upload, tenant_id=consent.tenant_id,
                            already=len(await consent_proofs(session, consent.id)), now=now)
    session.add(ConsentProof(tenant_id=consent.tenant_id, consent_id=consent.id,
                             proof_id=proof.id))
    return proof


async def review_consent(session: AsyncSession, consent: Consent, actor: Actor, *,
                         accepted: bool, reason: str, now: datetime) -> None:
    """A reviewer's verdict: neither the household, nor the mandatary it acted through, nor an
    uploader of its proofs (R19); then every proof is marked."""
    proofs = await consent_proofs(session, consent.id)
    parties = {consent.grantor_id}
    if consent.mandate_id is not None:
        mandate = await get_row(session, Mandate, consent.tenant_id, consent.mandate_id,
                                "mandate")
        parties.add(mandate.mandatary_id)
    await check_reviewer(session, actor, parties=parties,
                         uploaders={p.uploaded_by for p in proofs})
    record_verdict(session, proofs, accepted=accepted, actor=actor, now=now, note=reason)

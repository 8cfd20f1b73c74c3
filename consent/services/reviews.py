"""The written path and its staff review, shared by consents and mandates (R2, R10, R14, R19).

- R14: a consent or mandate that would leave its holder (recipient, mandatary) with more than
  :data:`ONLINE_MAX_POINTS` points of one household, counting the points it already holds
  (:mod:`consent.services.held_points`), cannot be granted online; it needs a proof document
  and a reviewer's approval (:func:`check_online_path`).
- R19: the reviewer is neither a party to the object (household, mandatary, or a member of the
  mandatary organisation) nor the uploader of any of its proofs (:func:`check_reviewer`).
- Proof documents: their metadata is recorded once the bytes are stored
  (:func:`add_proof`), and a review verdict marks every proof of the object
  (:func:`record_verdict`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import Conflict, DomainError, NotPermitted
from consent.models import Party, ProofDocument, ReviewState
from consent.services.base import Actor, flush_unique
from consent.services.mandate_rules import MAX_PROOFS, ProofUpload, check_proof_upload
from consent.services.queries import get_row

#: R14: above this many points, only the written path (proof + staff review) leads to active.
ONLINE_MAX_POINTS = 2


def check_online_path(point_ids: Collection[str], held: Collection[str], what: str,
                      holder: str) -> None:
    """Refuse an online grant of a ``what`` over ``point_ids`` when, with the points of the
    same household its ``holder`` already holds (``held``), more than two points would be
    held (R14). ``holder`` names the holder in the message ("recipient", "mandatary"), which
    says how many points it already holds when that is why the grant is refused."""
    total = len(set(point_ids) | set(held))
    if total <= ONLINE_MAX_POINTS:
        return
    already = len(set(held))
    if not already:
        raise NotPermitted(
            f"A {what} covering more than {ONLINE_MAX_POINTS} points ({total}) takes the "
            "written path (R14): attach a signed proof document and submit it for staff "
            "review.", field="points", rule="R14", points=total)
    raise NotPermitted(
        f"The {holder} already holds {already} of this household's points; with this {what} "
        f"it would hold {total}, more than {ONLINE_MAX_POINTS}: this {what} takes the written "
        "path (R14): attach a signed proof document and submit it for staff review.",
        field="points", rule="R14", reason=f"r14_{what}_held", points=total,
        held=already)


async def check_reviewer(session: AsyncSession, actor: Actor, *, parties: Collection[str],
                         uploaders: Collection[str]) -> None:
    """The reviewer is no party to the object, works for none of them, uploaded no proof."""
    assert actor.party_id is not None  # Actor guarantees it for the reviewer role
    reviewer = await get_row(session, Party, actor.tenant_id, actor.party_id, "party")
    barred = set(parties) | set(uploaders)
    if reviewer.id in barred or (reviewer.member_of_id is not None
                                 and reviewer.member_of_id in barred):
        raise NotPermitted("A reviewer cannot review a request they are party to or whose "
                           "proofs they uploaded (R19: segregation of duties).", field="actor",
                           rule="R19")


async def proofs_of(session: AsyncSession, link: type[SQLModel], owner_column: str,
                    owner_id: str) -> list[ProofDocument]:
    """The proofs linked to ``owner_id`` through ``link`` (MandateProof, ConsentProof), oldest
    first."""
    owner = getattr(link, owner_column)
    statement = select(ProofDocument).join(
        link, col(link.proof_id) == col(ProofDocument.id)  # type: ignore[attr-defined]
    ).where(owner == owner_id).order_by(col(ProofDocument.created_at), col(ProofDocument.id))
    return list((await session.exec(statement)).all())


async def add_proof(session: AsyncSession, actor: Actor, upload: ProofUpload, *,
                    tenant_id: str, already: int, now: datetime) -> ProofDocument:
    """Record a stored document's metadata (the caller links it to its object)."""
    kind = check_proof_upload(upload)
    if actor.party_id is None:
        raise NotPermitted("A proof is uploaded by a person or organisation.", field="actor")
    if already >= MAX_PROOFS:
        raise DomainError(f"At most {MAX_PROOFS} proofs per request.", field="proofs")
    taken = Conflict("This stored document is already attached.", field="storage_key")
    if (await session.exec(select(ProofDocument.id).where(
            ProofDocument.storage_key == upload.storage_key))).first() is not None:
        raise taken
    proof = ProofDocument(
        tenant_id=tenant_id, kind=kind, media_type=upload.media_type,
        size_bytes=upload.size_bytes, sha256=upload.sha256, storage_key=upload.storage_key,
        uploaded_by=actor.party_id, created_at=now)
    session.add(proof)
    await flush_unique(session, taken)
    return proof


def record_verdict(session: AsyncSession, proofs: Collection[ProofDocument], *, accepted: bool,
                   actor: Actor, now: datetime, note: str) -> None:
    """Mark every proof accepted or rejected by the reviewer ``actor``."""
    verdict = ReviewState.ACCEPTED if accepted else ReviewState.REJECTED
    for proof in proofs:
        proof.review_state = verdict
        proof.reviewed_by = actor.party_id
        proof.reviewed_at = now
        proof.review_note = note[:500]
        session.add(proof)

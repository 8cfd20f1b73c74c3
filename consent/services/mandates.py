"""The mandate service: a household lets someone act for it, once proofs are reviewed
(R2, R10, R11, R19).

Flow: ``request`` (household, mandatary or operator) -> ``attach_proof`` (metadata of a
document the evidence store already holds) -> ``submit`` -> ``approve`` or ``refuse`` by a
reviewer, who must be neither party to the mandate nor the uploader of any of its proofs
(segregation of duties, R19). Every change writes a :class:`~consent.models.MandateEvent` in
the same transaction and runs :attr:`MandateService.hooks`, like consents
(:mod:`consent.services.base`).
"""

from __future__ import annotations

from functools import partial

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import Clock
from consent.errors import (
    Conflict,
    DomainError,
    IllegalTransition,
    NotFound,
    NotPermitted,
)
from consent.lifecycle import MANDATE_MACHINE, ActorRole, MandateAction, MandateState
from consent.models import (
    DEFAULT_TENANT,
    Mandate,
    MandateEvent,
    MandatePoint,
    MandateProof,
    MandateScope,
    Party,
    PartyKind,
    ProofDocument,
    ReviewState,
)
from consent.periods import Period
from consent.services.base import (
    Actor,
    Hooks,
    Transition,
    apply_transition,
    check_version,
    creation_event,
    expire_due,
)
from consent.services.consent_rules import check_occupied_by
from consent.services.mandate_rules import (
    MAX_PROOFS,
    MandateDraft,
    ProofUpload,
    check_proof_upload,
)
from consent.services.queries import get_row, points_by_ref
from consent.storage import Database
from consent.vocabulary import Dataset

MandateTransition = Transition[Mandate, MandateEvent]

_MANDATARY_KINDS = {PartyKind.PERSON, PartyKind.MANDATARY_ORGANISATION, PartyKind.RECIPIENT,
                    PartyKind.HOUSEHOLD}


class MandateService:
    """Creates mandates and moves them through :data:`~consent.lifecycle.MANDATE_MACHINE`."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.hooks: Hooks[Mandate, MandateEvent] = Hooks()

    async def request(self, actor: Actor, draft: MandateDraft, *,
                      reason: str = "") -> MandateTransition:
        """Record a mandate in state ``requested``."""
        now = self.clock.now()
        state = MANDATE_MACHINE.creation(MandateAction.REQUEST, actor.role)
        try:
            scope = MandateScope(draft.scope)
        except ValueError:
            raise DomainError(f"Unknown mandate scope {draft.scope!r}.", field="scope") from None
        datasets = list(dict.fromkeys(Dataset.parse(str(d)) for d in draft.datasets))
        refs = list(dict.fromkeys(draft.points))
        if not datasets or not refs:
            raise DomainError("A mandate covers at least one point and one dataset.",
                              field="points")
        validity = Period(draft.valid_from or now, draft.valid_until)
        async with self.db.session() as session:
            mandator = await get_row(session, Party, actor.tenant_id, draft.mandator_id, "party")
            mandatary = await get_row(session, Party, actor.tenant_id, draft.mandatary_id,
                                      "party")
            self._standing(mandator.id, mandatary.id, actor, uploaders=set())
            if mandator.kind != PartyKind.HOUSEHOLD:
                raise NotFound(f"No household with id {mandator.id!r}.", field="mandator_id")
            if mandatary.kind not in _MANDATARY_KINDS or mandatary.id == mandator.id:
                raise DomainError(f"{mandatary.name!r} cannot be a mandatary.",
                                  field="mandatary_id")
            points = await points_by_ref(session, actor.tenant_id, refs)
            await check_occupied_by(session, points, mandator.id, now)
            mandate = Mandate(
                tenant_id=actor.tenant_id, mandator_id=mandator.id, mandatary_id=mandatary.id,
                scope=scope, datasets=[d.value for d in datasets], valid_from=validity.start,
                valid_until=validity.end, state=state, created_at=now, updated_at=now, version=1)
            session.add(mandate)
            await session.flush()
            session.add_all(MandatePoint(tenant_id=mandate.tenant_id, mandate_id=mandate.id,
                                         point_id=p.id) for p in points)
            event = creation_event(partial(MandateEvent, mandate_id=mandate.id), mandate,
                                   MandateAction.REQUEST, state, actor, now, reason=reason)
            session.add(event)
            await session.flush()
            await self.hooks.run(session, mandate, event)
            return Transition(mandate, event)

    async def attach_proof(self, actor: Actor, mandate_id: str,
                           upload: ProofUpload) -> ProofDocument:
        """Record a proof document for a mandate still being prepared or reviewed."""
        now = self.clock.now()
        kind = check_proof_upload(upload)
        if actor.party_id is None:
            raise NotPermitted("A proof is uploaded by a person or organisation.", field="actor")
        async with self.db.session() as session:
            mandate = await get_row(session, Mandate, actor.tenant_id, mandate_id, "mandate")
            self._standing(mandate.mandator_id, mandate.mandatary_id, actor, uploaders=set())
            if mandate.state not in (MandateState.REQUESTED, MandateState.PENDING_REVIEW):
                raise IllegalTransition(
                    f"Proofs are added while a mandate is requested or under review, not when "
                    f"it is {mandate.state}.", from_state=mandate.state,
                    to_state=mandate.state, action="attach_proof")
            if len(await _proofs(session, mandate.id)) >= MAX_PROOFS:
                raise DomainError(f"A mandate has at most {MAX_PROOFS} proofs.", field="proofs")
            taken = await session.exec(select(ProofDocument.id).where(
                ProofDocument.storage_key == upload.storage_key))
            if taken.first() is not None:
                raise Conflict("This stored document is already attached.", field="storage_key")
            proof = ProofDocument(
                tenant_id=mandate.tenant_id, kind=kind, media_type=upload.media_type,
                size_bytes=upload.size_bytes, sha256=upload.sha256,
                storage_key=upload.storage_key, uploaded_by=actor.party_id, created_at=now)
            session.add(proof)
            await session.flush()
            session.add(MandateProof(tenant_id=mandate.tenant_id, mandate_id=mandate.id,
                                     proof_id=proof.id))
            return proof

    async def submit(self, actor: Actor, mandate_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> MandateTransition:
        """``requested -> pending_review``; needs at least one proof (R2, R10)."""
        return await self._act(actor, mandate_id, MandateAction.SUBMIT, expected_version, reason)

    async def approve(self, actor: Actor, mandate_id: str, *,
                      expected_version: int | None = None,
                      reason: str = "") -> MandateTransition:
        """``pending_review -> active`` by a reviewer; its proofs become accepted."""
        return await self._act(actor, mandate_id, MandateAction.APPROVE, expected_version, reason)

    async def refuse(self, actor: Actor, mandate_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> MandateTransition:
        """``requested|pending_review -> refused`` by the household or a reviewer."""
        return await self._act(actor, mandate_id, MandateAction.REFUSE, expected_version, reason)

    async def suspend(self, actor: Actor, mandate_id: str, *,
                      expected_version: int | None = None,
                      reason: str = "") -> MandateTransition:
        """``active -> suspended`` by the operator."""
        return await self._act(actor, mandate_id, MandateAction.SUSPEND, expected_version, reason)

    async def resume(self, actor: Actor, mandate_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> MandateTransition:
        """``suspended -> active`` by the operator."""
        return await self._act(actor, mandate_id, MandateAction.RESUME, expected_version, reason)

    async def withdraw(self, actor: Actor, mandate_id: str, *,
                       expected_version: int | None = None,
                       reason: str = "") -> MandateTransition:
        """Ended by the household or by the mandatary itself (final)."""
        return await self._act(actor, mandate_id, MandateAction.WITHDRAW, expected_version,
                               reason)

    async def revoke(self, actor: Actor, mandate_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> MandateTransition:
        """Ended by the operator, a reviewer or Passerelle (final)."""
        return await self._act(actor, mandate_id, MandateAction.REVOKE, expected_version, reason)

    async def expire(self, actor: Actor, mandate_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> MandateTransition:
        """Ended because ``valid_until`` is past (system, final)."""
        return await self._act(actor, mandate_id, MandateAction.EXPIRE, expected_version, reason)

    async def expire_due(self, tenant_id: str = DEFAULT_TENANT) -> list[str]:
        """Expire every live mandate whose ``valid_until`` is past; return their ids."""
        return await expire_due(self.db, Mandate, MANDATE_MACHINE, MandateAction.EXPIRE,
                                self.expire, tenant_id=tenant_id, now=self.clock.now(),
                                reason="validity over")

    async def get(self, tenant_id: str, mandate_id: str) -> Mandate:
        """The mandate, or :class:`NotFound`."""
        async with self.db.session() as session:
            return await get_row(session, Mandate, tenant_id, mandate_id, "mandate")

    async def proofs(self, tenant_id: str, mandate_id: str) -> list[ProofDocument]:
        """The proof documents of a mandate, oldest first."""
        async with self.db.session() as session:
            await get_row(session, Mandate, tenant_id, mandate_id, "mandate")
            return await _proofs(session, mandate_id)

    async def history(self, tenant_id: str, mandate_id: str) -> list[MandateEvent]:
        """Every event of a mandate, oldest first."""
        async with self.db.session() as session:
            statement = select(MandateEvent).where(
                MandateEvent.tenant_id == tenant_id, MandateEvent.mandate_id == mandate_id,
            ).order_by(col(MandateEvent.id))
            return list((await session.exec(statement)).all())

    async def _act(self, actor: Actor, mandate_id: str, action: MandateAction,
                   expected_version: int | None, reason: str) -> MandateTransition:
        now = self.clock.now()
        async with self.db.session() as session:
            mandate = await get_row(session, Mandate, actor.tenant_id, mandate_id, "mandate")
            check_version(mandate, expected_version)
            MANDATE_MACHINE.target(mandate.state, action, actor.role)  # state, then role
            proofs = await _proofs(session, mandate.id)
            self._standing(mandate.mandator_id, mandate.mandatary_id, actor,
                           uploaders={p.uploaded_by for p in proofs})
            if action is MandateAction.SUBMIT and not proofs:
                raise DomainError("Attach at least one proof (a signed mandate) before "
                                  "submitting (R10).", field="proofs")
            if action in (MandateAction.APPROVE, MandateAction.RESUME) and (
                    mandate.valid_until is not None and mandate.valid_until <= now):
                raise DomainError("This mandate's validity is over; it can only expire.",
                                  field="valid_until")
            if actor.role is ActorRole.REVIEWER and action in (MandateAction.APPROVE,
                                                               MandateAction.REFUSE):
                verdict = (ReviewState.ACCEPTED if action is MandateAction.APPROVE
                           else ReviewState.REJECTED)
                for proof in proofs:
                    proof.review_state = verdict
                    proof.reviewed_by = actor.party_id
                    proof.reviewed_at = now
                    proof.review_note = reason[:500]
                    session.add(proof)
            event = await apply_transition(
                session, mandate, MANDATE_MACHINE, action, actor, now,
                partial(MandateEvent, mandate_id=mandate.id), reason=reason)
            await self.hooks.run(session, mandate, event)
            return Transition(mandate, event)

    @staticmethod
    def _standing(mandator_id: str, mandatary_id: str, actor: Actor,
                  uploaders: set[str]) -> None:
        role = actor.role
        if role is ActorRole.SUBJECT and actor.party_id != mandator_id:
            raise NotFound("No mandate of yours has this id.", field="mandate_id")
        if role is ActorRole.MANDATARY and actor.party_id != mandatary_id:
            raise NotFound("No mandate naming you has this id.", field="mandate_id")
        if role is ActorRole.REVIEWER and (
                actor.party_id in uploaders or actor.party_id in (mandator_id, mandatary_id)):
            raise NotPermitted("A reviewer cannot review a mandate they are party to or whose "
                               "proofs they uploaded (R19).", field="actor", rule="R19")


async def _proofs(session: AsyncSession, mandate_id: str) -> list[ProofDocument]:
    statement = select(ProofDocument).join(
        MandateProof, col(MandateProof.proof_id) == col(ProofDocument.id)).where(
        MandateProof.mandate_id == mandate_id).order_by(col(ProofDocument.created_at),
                                                        col(ProofDocument.id))
    return list((await session.exec(statement)).all())

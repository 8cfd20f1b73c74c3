"""The mandate service: a household lets someone act for it (R2, R7, R10, R11, R14, R19).

Two paths lead to an active mandate:

- online, by the household itself: ``give`` (or ``grant`` of a mandate a mandatary asked for).
  Its authenticated act is its signature (R7); allowed for at most two points (R14);
- written: ``request`` (household, mandatary or operator entering a paper form) ->
  ``attach_proof`` (metadata of a document the evidence store already holds) -> ``submit`` ->
  ``approve`` or ``refuse`` by a reviewer, who must be neither party to the mandate (nor work
  for one) nor the uploader of any of its proofs (segregation of duties, R19).

Only a social-services organisation (a CPAS, :attr:`PartyKind.SOCIAL_SERVICES`) may hold a
*standing* mandate (no ``valid_until``, R11), granted per assisted household through the
written path. Every change writes a :class:`~consent.models.MandateEvent` in the same
transaction and runs :attr:`MandateService.hooks`, like consents (:mod:`consent.services.base`);
an action under a mandate is recorded with the mandatary as actor and the household as mandator.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import Clock
from consent.errors import IllegalTransition
from consent.lifecycle import MANDATE_MACHINE, ActorRole, MandateAction, MandateState
from consent.models import (
    DEFAULT_TENANT,
    Mandate,
    MandateEvent,
    MandatePoint,
    MandateProof,
    ProofDocument,
)
from consent.services.base import (
    Actor,
    Hooks,
    Transition,
    apply_transition,
    check_version,
    expire_due,
    insert_created,
)
from consent.services.mandate_checks import (
    check_mandate_move,
    check_mandate_standing,
    new_mandate,
)
from consent.services.mandate_rules import MandateDraft, ProofUpload
from consent.services.queries import get_row, live_on_points
from consent.services.reviews import add_proof, check_reviewer, proofs_of, record_verdict
from consent.storage import Database

MandateTransition = Transition[Mandate, MandateEvent]


class MandateService:
    """Creates mandates and moves them through :data:`~consent.lifecycle.MANDATE_MACHINE`."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.hooks: Hooks[Mandate, MandateEvent] = Hooks()

    async def request(self, actor: Actor, draft: MandateDraft, *,
                      reason: str = "") -> MandateTransition:
        """Record a mandate in state ``requested``."""
        async with self.db.session() as session:
            return await self.request_in(session, actor, draft, reason=reason)

    async def give(self, actor: Actor, draft: MandateDraft, *,
                   reason: str = "") -> MandateTransition:
        """The household gives a mandate online: ``request`` and ``grant`` in one transaction
        (two events; the grant is returned). At most two points (R14)."""
        async with self.db.session() as session:
            created = await self.request_in(session, actor, draft, reason=reason)
            return await self.act_in(session, actor, created.row.id, MandateAction.GRANT,
                                     None, reason)

    async def request_in(self, session: AsyncSession, actor: Actor, draft: MandateDraft, *,
                         reason: str = "") -> MandateTransition:
        """:meth:`request` inside the caller's transaction (the demo seed writes in one)."""
        now = self.clock.now()
        state = MANDATE_MACHINE.creation(MandateAction.REQUEST, actor.role)
        mandate, points = await new_mandate(session, actor, draft, state, now)
        links = [MandatePoint(tenant_id=mandate.tenant_id, mandate_id=mandate.id, point_id=p.id)
                 for p in points]
        event = await insert_created(session, mandate, links,
                                     partial(MandateEvent, mandate_id=mandate.id),
                                     MandateAction.REQUEST, actor, now, reason=reason)
        await self.hooks.run(session, mandate, event)
        return Transition(mandate, event)

    async def attach_proof(self, actor: Actor, mandate_id: str,
                           upload: ProofUpload) -> ProofDocument:
        """Record a proof document for a mandate still being prepared or reviewed."""
        async with self.db.session() as session:
            return await self.attach_proof_in(session, actor, mandate_id, upload)

    async def attach_proof_in(self, session: AsyncSession, actor: Actor, mandate_id: str,
                              upload: ProofUpload) -> ProofDocument:
        """:meth:`attach_proof` inside the caller's transaction."""
        mandate = await get_row(session, Mandate, actor.tenant_id, mandate_id, "mandate")
        await check_mandate_standing(session, actor, mandate.mandator_id,
                                     mandate.mandatary_id)
        if mandate.state not in (MandateState.REQUESTED, MandateState.PENDING_REVIEW):
            raise IllegalTransition(
                f"Proofs are added while a mandate is requested or under review, not when "
                f"it is {mandate.state}.", from_state=mandate.state,
                to_state=mandate.state, action="attach_proof")
        proof = await add_proof(session, actor, upload, tenant_id=mandate.tenant_id,
                                already=len(await _proofs(session, mandate.id)),
                                now=self.clock.now())
        session.add(MandateProof(tenant_id=mandate.tenant_id, mandate_id=mandate.id,
                                 proof_id=proof.id))
        return proof

    async def grant(self, actor: Actor, mandate_id: str, *, expected_version: int | None = None,
                    reason: str = "") -> MandateTransition:
        """``requested -> active`` by the household online (at most two points, R14)."""
        return await self._act(actor, mandate_id, MandateAction.GRANT, expected_version, reason)

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

    async def revoke_on_points(self, session: AsyncSession, actor: Actor, point_ids: set[str],
                               *, mandator_id: str, reason: str,
                               effective_at: datetime | None = None) -> list[MandateEvent]:
        """Inside the caller's transaction: revoke every live mandate of ``mandator_id`` that
        covers one of ``point_ids`` (as a whole, like consents). Used when the occupant
        changes (R9)."""
        mandates = await live_on_points(
            session, Mandate, MandatePoint, "mandate_id", tenant_id=actor.tenant_id,
            point_ids=point_ids, states=MANDATE_MACHINE.rules[MandateAction.REVOKE].sources)
        events = []
        for mandate in mandates:
            if mandate.mandator_id != mandator_id:
                continue
            event = await apply_transition(
                session, mandate, MANDATE_MACHINE, MandateAction.REVOKE, actor,
                self.clock.now(), partial(MandateEvent, mandate_id=mandate.id), reason=reason,
                effective_at=effective_at)
            await self.hooks.run(session, mandate, event)
            events.append(event)
        return events

    async def act_with(self, actor: Actor, mandate_id: str, action: MandateAction, *,
                       expected_version: int | None = None,
                       reason: str = "") -> MandateTransition:
        """Apply ``action`` in its own transaction (the HTTP edge maps verbs to actions)."""
        return await self._act(actor, mandate_id, action, expected_version, reason)

    async def _act(self, actor: Actor, mandate_id: str, action: MandateAction,
                   expected_version: int | None, reason: str) -> MandateTransition:
        async with self.db.session() as session:
            return await self.act_in(session, actor, mandate_id, action, expected_version,
                                     reason)

    async def act_in(self, session: AsyncSession, actor: Actor, mandate_id: str,
                     action: MandateAction, expected_version: int | None = None,
                     reason: str = "") -> MandateTransition:
        """Apply ``action`` inside the caller's transaction (see the public methods)."""
        now = self.clock.now()
        mandate = await get_row(session, Mandate, actor.tenant_id, mandate_id, "mandate")
        check_version(mandate, expected_version)
        MANDATE_MACHINE.target(mandate.state, action, actor.role)  # state, then role
        proofs = await _proofs(session, mandate.id)
        await check_mandate_standing(session, actor, mandate.mandator_id,
                                     mandate.mandatary_id)
        await check_mandate_move(session, mandate, action, proof_count=len(proofs), now=now)
        if actor.role is ActorRole.REVIEWER and action in (MandateAction.APPROVE,
                                                           MandateAction.REFUSE):
            await check_reviewer(session, actor,
                                 parties=(mandate.mandator_id, mandate.mandatary_id),
                                 uploaders={p.uploaded_by for p in proofs})
            record_verdict(session, proofs, accepted=action is MandateAction.APPROVE,
                           actor=actor, now=now, note=reason)
        event = await apply_transition(
            session, mandate, MANDATE_MACHINE, action, actor, now,
            partial(MandateEvent, mandate_id=mandate.id), reason=reason,
            details={"mandatary_id": mandate.mandatary_id, "mandator_id": mandate.mandator_id})
        await self.hooks.run(session, mandate, event)
        return Transition(mandate, event)


async def _proofs(session: AsyncSession, mandate_id: str) -> list[ProofDocument]:
    return await proofs_of(session, MandateProof, "mandate_id", mandate_id)

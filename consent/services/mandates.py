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
from consent.errors import DomainError, IllegalTransition, NotFound
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
    MandateDraft,
    ProofUpload,
    acting_parties,
    mandate_point_ids,
)
from consent.services.queries import get_row, points_by_ref
from consent.services.reviews import (
    add_proof,
    check_online_path,
    check_reviewer,
    proofs_of,
    record_verdict,
)
from consent.storage import Database
from consent.vocabulary import Dataset

MandateTransition = Transition[Mandate, MandateEvent]

_MANDATARY_KINDS = {PartyKind.PERSON, PartyKind.MANDATARY_ORGANISATION, PartyKind.RECIPIENT,
                    PartyKind.HOUSEHOLD, PartyKind.SOCIAL_SERVICES}


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
        mandator = await get_row(session, Party, actor.tenant_id, draft.mandator_id, "party")
        mandatary = await get_row(session, Party, actor.tenant_id, draft.mandatary_id, "party")
        await self._standing(session, actor, mandator.id, mandatary.id)
        if mandator.kind != PartyKind.HOUSEHOLD:
            raise NotFound(f"No household with id {mandator.id!r}.", field="mandator_id")
        if mandatary.kind not in _MANDATARY_KINDS or mandatary.id == mandator.id:
            raise DomainError(f"{mandatary.name!r} cannot be a mandatary.",
                              field="mandatary_id")
        if validity.end is None and mandatary.kind != PartyKind.SOCIAL_SERVICES:
            raise DomainError("Only social services hold standing mandates (R11); give this "
                              "mandate an end date.", field="valid_until", rule="R11")
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
        async with self.db.session() as session:
            return await self.attach_proof_in(session, actor, mandate_id, upload)

    async def attach_proof_in(self, session: AsyncSession, actor: Actor, mandate_id: str,
                              upload: ProofUpload) -> ProofDocument:
        """:meth:`attach_proof` inside the caller's transaction."""
        mandate = await get_row(session, Mandate, actor.tenant_id, mandate_id, "mandate")
        await self._standing(session, actor, mandate.mandator_id, mandate.mandatary_id)
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
        covering = select(MandatePoint.mandate_id).where(col(MandatePoint.point_id).in_(point_ids))
        sources = MANDATE_MACHINE.rules[MandateAction.REVOKE].sources
        statement = select(Mandate).where(
            Mandate.tenant_id == actor.tenant_id, Mandate.mandator_id == mandator_id,
            col(Mandate.state).in_(sources), col(Mandate.id).in_(covering),
        ).order_by(col(Mandate.created_at), col(Mandate.id))
        events = []
        for mandate in (await session.exec(statement)).all():
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
        await self._standing(session, actor, mandate.mandator_id, mandate.mandatary_id)
        if action is MandateAction.GRANT:
            check_online_path(len(await mandate_point_ids(session, mandate.id)), "mandate")
        if action is MandateAction.SUBMIT and not proofs:
            raise DomainError("Attach at least one proof (a signed mandate) before "
                              "submitting (R10).", field="proofs")
        if action in (MandateAction.GRANT, MandateAction.APPROVE, MandateAction.RESUME) and (
                mandate.valid_until is not None and mandate.valid_until <= now):
            raise DomainError("This mandate's validity is over; it can only expire.",
                              field="valid_until")
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

    @staticmethod
    async def _standing(session: AsyncSession, actor: Actor, mandator_id: str,
                        mandatary_id: str) -> None:
        """A household acts on its own mandates, a mandatary (or a person working for it) on
        those naming it; strangers get :class:`NotFound` (R24)."""
        role = actor.role
        if role is ActorRole.SUBJECT and actor.party_id != mandator_id:
            raise NotFound("No mandate of yours has this id.", field="mandate_id")
        if role is ActorRole.MANDATARY:
            assert actor.party_id is not None
            if mandatary_id not in await acting_parties(session, actor.tenant_id,
                                                        actor.party_id):
                raise NotFound("No mandate naming you has this id.", field="mandate_id")


async def _proofs(session: AsyncSession, mandate_id: str) -> list[ProofDocument]:
    return await proofs_of(session, MandateProof, "mandate_id", mandate_id)

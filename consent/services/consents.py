"""The consent service: every change of a consent, with its event, in one transaction.

Each public method opens one transaction, checks (state machine, the actor's standing, the
rules of :mod:`consent.services.consent_rules`), writes the row and its
:class:`~consent.models.ConsentEvent`, runs :attr:`ConsentService.hooks`, and commits; any
error leaves nothing written. Methods return a :class:`~consent.services.base.Transition`
(the consent after the change and the event).

Standing of an actor (beyond the role table of :mod:`consent.lifecycle`):
``subject`` must be the grantor; ``mandatary`` must hold an active mandate of the grantor that
manages consents and covers the consent's points and datasets (its id is recorded on the
consent); ``recipient`` must be the recipient's party. Someone with no relation to the consent
gets :class:`~consent.errors.NotFound`, as if it did not exist (R24).

More than two points (R14): ``grant`` (online) is refused; the consent takes the written path
``request`` -> ``attach_proof`` -> ``submit`` -> ``approve`` (or ``refuse``) by a reviewer who is
neither the household, nor the mandatary it acted through, nor an uploader of its proofs (R19).

Listening for withdrawals (issue 3 kills tokens there): ``service.hooks.listeners.append(f)``
where ``async def f(session, consent, event)`` runs inside the transaction; check
``event.to_state`` (``withdrawn``, ``revoked``, ``expired``, ``suspended``...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import Clock
from consent.lifecycle import CONSENT_MACHINE, ActorRole, ConsentAction
from consent.models import (
    DEFAULT_TENANT,
    Consent,
    ConsentEvent,
    ConsentPoint,
    MeteringPoint,
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
from consent.services.consent_moves import prepare_move
from consent.services.consent_reviews import attach_consent_proof, consent_proofs
from consent.services.consent_rules import ConsentDraft, ConsentPolicy, check_standing, new_consent
from consent.services.mandate_rules import ProofUpload
from consent.services.queries import get_row, live_on_points, point_ids_of
from consent.storage import Database

ConsentTransition = Transition[Consent, ConsentEvent]


class ConsentService:
    """Creates consents and moves them through :data:`~consent.lifecycle.CONSENT_MACHINE`."""

    def __init__(self, db: Database, clock: Clock, policy: ConsentPolicy | None = None) -> None:
        self.db = db
        self.clock = clock
        self.policy = policy or ConsentPolicy()
        self.hooks: Hooks[Consent, ConsentEvent] = Hooks()

    # -- creation -------------------------------------------------------------------------

    async def request(self, actor: Actor, draft: ConsentDraft, *,
                      reason: str = "") -> ConsentTransition:
        """Record a consent in state ``requested`` (the household still has to grant it)."""
        async with self.db.session() as session:
            return await self._create(session, actor, draft, reason)

    async def give(self, actor: Actor, draft: ConsentDraft, *,
                   reason: str = "") -> ConsentTransition:
        """Request and grant at once: the household approves on the consent page. Two events
        (``request``, ``grant``) are written; the returned one is the grant."""
        async with self.db.session() as session:
            return await self.give_in(session, actor, draft, reason=reason)

    async def give_in(self, session: AsyncSession, actor: Actor, draft: ConsentDraft, *,
                      reason: str = "") -> ConsentTransition:
        """:meth:`give` inside the caller's transaction (the demo seed writes in one)."""
        return await self.answer_in(session, actor, draft, ConsentAction.GRANT, reason=reason)

    async def answer_in(self, session: AsyncSession, actor: Actor, draft: ConsentDraft,
                        action: ConsentAction, *, reason: str = "") -> ConsentTransition:
        """The household's answer on the consent page, inside the caller's transaction: request
        then ``grant`` or ``refuse`` (two events; the second is returned)."""
        created = await self._create(session, actor, draft, reason)
        return await self._move(session, created.row, action, actor, reason)

    async def attach_proof(self, actor: Actor, consent_id: str,
                           upload: ProofUpload) -> ProofDocument:
        """Record a proof document (a signed form) of a consent being requested or reviewed."""
        async with self.db.session() as session:
            consent = await get_row(session, Consent, actor.tenant_id, consent_id, "consent")
            await self._standing(session, consent, actor, await _point_ids(session, consent.id),
                                 self.clock.now())
            return await attach_consent_proof(session, actor, consent, upload,
                                              self.clock.now())

    async def submit(self, actor: Actor, consent_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> ConsentTransition:
        """``requested -> pending_review``: the written path (R14); needs a proof."""
        return await self._act(actor, consent_id, ConsentAction.SUBMIT, expected_version, reason)

    async def approve(self, actor: Actor, consent_id: str, *,
                      expected_version: int | None = None,
                      reason: str = "") -> ConsentTransition:
        """``pending_review -> active`` by a reviewer (R14, R19); its proofs become accepted."""
        return await self._act(actor, consent_id, ConsentAction.APPROVE, expected_version, reason)

    async def proofs(self, tenant_id: str, consent_id: str) -> list[ProofDocument]:
        """The proof documents of a consent, oldest first."""
        async with self.db.session() as session:
            await get_row(session, Consent, tenant_id, consent_id, "consent")
            return await consent_proofs(session, consent_id)

    async def _create(self, session: AsyncSession, actor: Actor, draft: ConsentDraft,
                      reason: str) -> ConsentTransition:
        now = self.clock.now()
        state = CONSENT_MACHINE.creation(ConsentAction.REQUEST, actor.role)
        consent, points = await new_consent(session, actor, draft, state, now, self.policy)
        links = [ConsentPoint(tenant_id=consent.tenant_id, consent_id=consent.id, point_id=p.id)
                 for p in points]
        event = await insert_created(session, consent, links,
                                     partial(ConsentEvent, consent_id=consent.id),
                                     ConsentAction.REQUEST, actor, now, reason=reason)
        await self.hooks.run(session, consent, event)
        return Transition(consent, event)

    # -- transitions ----------------------------------------------------------------------

    async def grant(self, actor: Actor, consent_id: str, *, expected_version: int | None = None,
                    reason: str = "") -> ConsentTransition:
        """``requested -> active`` by the household or its mandatary; re-checks occupancy (R8),
        the recipient's registration and that the access period has not run out."""
        return await self._act(actor, consent_id, ConsentAction.GRANT, expected_version, reason)

    async def refuse(self, actor: Actor, consent_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> ConsentTransition:
        """``requested -> refused`` by the household or its mandatary."""
        return await self._act(actor, consent_id, ConsentAction.REFUSE, expected_version, reason)

    async def withdraw(self, actor: Actor, consent_id: str, *,
                       expected_version: int | None = None,
                       reason: str = "") -> ConsentTransition:
        """``active|suspended -> withdrawn`` by the household or its mandatary (final)."""
        return await self._act(actor, consent_id, ConsentAction.WITHDRAW, expected_version,
                               reason)

    async def revoke(self, actor: Actor, consent_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> ConsentTransition:
        """``requested|active|suspended -> revoked`` by the operator, the recipient, the DSO
        or Passerelle (final)."""
        return await self._act(actor, consent_id, ConsentAction.REVOKE, expected_version, reason)

    async def suspend(self, actor: Actor, consent_id: str, *,
                      expected_version: int | None = None,
                      reason: str = "") -> ConsentTransition:
        """``active -> suspended`` (operator, upstream, system): data stops, tokens may stay."""
        return await self._act(actor, consent_id, ConsentAction.SUSPEND, expected_version,
                               reason)

    async def resume(self, actor: Actor, consent_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> ConsentTransition:
        """``suspended -> active`` (operator, upstream, system), if still within its period."""
        return await self._act(actor, consent_id, ConsentAction.RESUME, expected_version, reason)

    async def expire(self, actor: Actor, consent_id: str, *, expected_version: int | None = None,
                     reason: str = "") -> ConsentTransition:
        """``requested|active|suspended -> expired`` (system, once ``valid_until`` is past)."""
        return await self._act(actor, consent_id, ConsentAction.EXPIRE, expected_version, reason)

    async def renew(self, actor: Actor, consent_id: str, valid_until: datetime, *,
                    expected_version: int | None = None, reason: str = "") -> ConsentTransition:
        """``active -> active`` with a later ``valid_until``, capped from now (DPV
        RenewedConsentGiven). Same id, same arrangement, same tokens; a ``renew`` event."""
        return await self._act(actor, consent_id, ConsentAction.RENEW, expected_version, reason,
                               valid_until=valid_until)

    async def expire_due(self, tenant_id: str = DEFAULT_TENANT) -> list[str]:
        """Expire every live consent whose ``valid_until`` is past; return their ids."""
        return await expire_due(self.db, Consent, CONSENT_MACHINE, ConsentAction.EXPIRE,
                                self.expire, tenant_id=tenant_id, now=self.clock.now(),
                                reason="access period over")

    async def revoke_on_points(self, session: AsyncSession, actor: Actor, point_ids: set[str],
                               *, grantor_id: str | None = None, reason: str,
                               effective_at: datetime | None = None) -> list[ConsentEvent]:
        """Inside the caller's transaction: revoke every live consent covering one of
        ``point_ids`` (of ``grantor_id`` only, if given). A consent over several points stops
        as a whole: a consent that no longer holds for all its points denies (secure default).
        Used when an upstream authorisation ends or the occupant changes (R9);
        ``effective_at`` is the move-out instant when it is already past."""
        return await self.act_on_points(session, actor, ConsentAction.REVOKE, point_ids,
                                        grantor_id=grantor_id, reason=reason,
                                        effective_at=effective_at)

    async def act_on_points(self, session: AsyncSession, actor: Actor, action: ConsentAction,
                            point_ids: set[str], *, grantor_id: str | None = None,
                            reason: str, suspended_by: ActorRole | None = None,
                            effective_at: datetime | None = None) -> list[ConsentEvent]:
        """Inside the caller's transaction: apply ``action`` to every consent covering one of
        ``point_ids`` whose state allows it. ``suspended_by`` keeps only consents whose last
        event is a suspension by that role (resume only what upstream suspended)."""
        consents = await live_on_points(session, Consent, ConsentPoint, "consent_id",
                                        tenant_id=actor.tenant_id, point_ids=point_ids,
                                        states=CONSENT_MACHINE.rules[action].sources)
        events = []
        for consent in consents:
            if grantor_id is not None and consent.grantor_id != grantor_id:
                continue
            if suspended_by is not None:
                last = (await session.exec(select(ConsentEvent).where(
                    ConsentEvent.consent_id == consent.id).order_by(
                    col(ConsentEvent.id).desc()).limit(1))).one()
                if (last.action, last.actor_role) != (ConsentAction.SUSPEND.value, suspended_by):
                    continue
            transition = await self._move(session, consent, action, actor, reason,
                                          effective_at=effective_at)
            events.append(transition.event)
        return events

    async def act_in(self, session: AsyncSession, actor: Actor, consent: Consent,
                     action: ConsentAction, *, reason: str = "") -> ConsentTransition:
        """Apply ``action`` to ``consent`` inside the caller's transaction, with every check
        and hook of the public methods (an erasure withdraws all of a household's consents
        in its own transaction, :mod:`consent.services.erasure`)."""
        return await self._move(session, consent, action, actor, reason)

    # -- reading --------------------------------------------------------------------------

    async def get(self, tenant_id: str, consent_id: str) -> Consent:
        """The consent, or :class:`NotFound`."""
        async with self.db.session() as session:
            return await get_row(session, Consent, tenant_id, consent_id, "consent")

    async def points(self, tenant_id: str, consent_id: str) -> list[MeteringPoint]:
        """The points a consent covers."""
        async with self.db.session() as session:
            await get_row(session, Consent, tenant_id, consent_id, "consent")
            statement = select(MeteringPoint).join(
                ConsentPoint, col(ConsentPoint.point_id) == col(MeteringPoint.id)).where(
                ConsentPoint.consent_id == consent_id).order_by(col(MeteringPoint.identifier))
            return list((await session.exec(statement)).all())

    async def history(self, tenant_id: str, consent_id: str) -> list[ConsentEvent]:
        """Every event of a consent, oldest first."""
        async with self.db.session() as session:
            statement = select(ConsentEvent).where(
                ConsentEvent.tenant_id == tenant_id, ConsentEvent.consent_id == consent_id,
            ).order_by(col(ConsentEvent.id))
            return list((await session.exec(statement)).all())

    # -- internals ------------------------------------------------------------------------

    async def _act(self, actor: Actor, consent_id: str, action: ConsentAction,
                   expected_version: int | None, reason: str,
                   valid_until: datetime | None = None) -> ConsentTransition:
        async with self.db.session() as session:
            consent = await get_row(session, Consent, actor.tenant_id, consent_id, "consent")
            check_version(consent, expected_version)
            return await self._move(session, consent, action, actor, reason, valid_until)

    async def _move(self, session: AsyncSession, consent: Consent, action: ConsentAction,
                    actor: Actor, reason: str, valid_until: datetime | None = None, *,
                    effective_at: datetime | None = None,
                    extra: Mapping[str, object] | None = None) -> ConsentTransition:
        """Apply ``action`` inside ``session``; ``extra`` goes into the event's details."""
        now = self.clock.now()
        CONSENT_MACHINE.target(consent.state, action, actor.role)  # state, then role
        point_ids = await _point_ids(session, consent.id)
        mandate_id = await self._standing(session, consent, actor, point_ids, now)
        move = await prepare_move(session, consent, action, actor, point_ids=point_ids,
                                  mandate_id=mandate_id, now=now, policy=self.policy,
                                  reason=reason, valid_until=valid_until, extra=extra)
        event = await apply_transition(
            session, consent, CONSENT_MACHINE, action, actor, now,
            partial(ConsentEvent, consent_id=consent.id), reason=reason, details=move.details,
            changes=move.changes, effective_at=effective_at)
        await self.hooks.run(session, consent, event)
        return Transition(consent, event)

    async def _standing(self, session: AsyncSession, consent: Consent, actor: Actor,
                        point_ids: Sequence[str], now: datetime) -> str | None:
        """Check the actor may act on this consent; return the mandate it acts under."""
        return await check_standing(session, actor, grantor_id=consent.grantor_id,
                                    recipient_id=consent.recipient_id,
                                    datasets=consent.datasets, point_ids=point_ids, now=now)


async def _point_ids(session: AsyncSession, consent_id: str) -> list[str]:
    return await point_ids_of(session, ConsentPoint, "consent_id", consent_id)

"""What the mandate service checks before it writes (R2, R8, R10, R11, R14, R24).

:func:`new_mandate` checks a request and builds the row the service inserts;
:func:`check_mandate_standing` says who may touch a mandate at all and
:func:`check_mandate_move` what a transition needs beyond the state machine and the actor's
role. The drafts, proof metadata and mandate coverage lookups are in
:mod:`consent.services.mandate_rules`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import DomainError, NotFound
from consent.lifecycle import ActorRole, MandateAction, MandateState
from consent.models import Mandate, MandateScope, MeteringPoint, Party, PartyKind
from consent.periods import Period
from consent.services.base import Actor
from consent.services.consent_rules import check_occupied_by
from consent.services.held_points import lock_household, points_held_by_mandatary
from consent.services.mandate_rules import MandateDraft, acting_parties, mandate_point_ids
from consent.services.queries import get_row, points_by_ref
from consent.services.reviews import check_online_path
from consent.vocabulary import Dataset

#: Who may hold a mandate (never the household itself).
_MANDATARY_KINDS = {PartyKind.PERSON, PartyKind.MANDATARY_ORGANISATION, PartyKind.RECIPIENT,
                    PartyKind.HOUSEHOLD, PartyKind.SOCIAL_SERVICES}


async def check_mandate_standing(session: AsyncSession, actor: Actor, mandator_id: str,
                                 mandatary_id: str) -> None:
    """A household acts on its own mandates, a mandatary (or a person working for it) on
    those naming it; strangers get :class:`NotFound` (R24)."""
    role = actor.role
    if role is ActorRole.SUBJECT and actor.party_id != mandator_id:
        raise NotFound("No mandate of yours has this id.", field="mandate_id")
    if role is ActorRole.MANDATARY:
        assert actor.party_id is not None
        if mandatary_id not in await acting_parties(session, actor.tenant_id, actor.party_id):
            raise NotFound("No mandate naming you has this id.", field="mandate_id")


async def new_mandate(session: AsyncSession, actor: Actor, draft: MandateDraft,
                      state: MandateState, now: datetime,
                      ) -> tuple[Mandate, list[MeteringPoint]]:
    """The mandate ``draft`` asks for, in ``state``, and its points: the mandator is a
    household occupying every point (R8), the mandatary may hold a mandate, and only social
    services hold standing ones (R11). Nothing is written here."""
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
    await check_mandate_standing(session, actor, mandator.id, mandatary.id)
    if mandator.kind != PartyKind.HOUSEHOLD:
        raise NotFound(f"No household with id {mandator.id!r}.", field="mandator_id")
    if mandatary.kind not in _MANDATARY_KINDS or mandatary.id == mandator.id:
        raise DomainError(f"{mandatary.name!r} cannot be a mandatary.", field="mandatary_id")
    if validity.end is None and mandatary.kind != PartyKind.SOCIAL_SERVICES:
        raise DomainError("Only social services hold standing mandates (R11); give this "
                          "mandate an end date.", field="valid_until", rule="R11")
    points = await points_by_ref(session, actor.tenant_id, refs)
    await check_occupied_by(session, points, mandator.id, now)
    return Mandate(
        tenant_id=actor.tenant_id, mandator_id=mandator.id, mandatary_id=mandatary.id,
        scope=scope, datasets=[d.value for d in datasets], valid_from=validity.start,
        valid_until=validity.end, state=state, created_at=now, updated_at=now, version=1,
    ), points


async def check_mandate_move(session: AsyncSession, mandate: Mandate, action: MandateAction,
                             *, proof_count: int, now: datetime) -> None:
    """What ``action`` requires of ``mandate``: an online grant leaves the mandatary with at
    most two points of the household, counting those it already holds under live mandates
    (R14, :mod:`consent.services.held_points`), a submission has a proof (R10), and nothing
    revives a mandate whose validity is over."""
    if action is MandateAction.GRANT:
        await lock_household(session, mandate.mandator_id)  # the count stays current (R14)
        check_online_path(await mandate_point_ids(session, mandate.id),
                          await points_held_by_mandatary(session, mandate, now), "mandate",
                          "mandatary")
    if action is MandateAction.SUBMIT and not proof_count:
        raise DomainError("Attach at least one proof (a signed mandate) before submitting "
                          "(R10).", field="proofs")
    if action in (MandateAction.GRANT, MandateAction.APPROVE, MandateAction.RESUME) and (
            mandate.valid_until is not None and mandate.valid_until <= now):
        raise DomainError("This mandate's validity is over; it can only expire.",
                          field="valid_until")

"""What each change of a consent requires, and what it writes besides the new state.

:func:`prepare_move` runs inside :class:`~consent.services.ConsentService`'s transaction once
the state machine has accepted the action for the actor's role and the actor's standing is
checked (its mandate, for a mandatary, is ``mandate_id``):

========  ==========================================================  =====================
action    requires                                                    also writes
========  ==========================================================  =====================
grant     at most two points of the household for the recipient,     ``granted_at``
          counting those it already holds (R14); still grantable
          (R5, R8, period)
approve   still grantable; a reviewer with no tie to it (R19)         ``granted_at``, the
                                                                      proofs' verdict
resume    still grantable                                             -
submit    at least one proof, the signed form (R14)                   -
refuse    (by a reviewer) no tie to it (R19)                          the proofs' verdict
renew     a later ``valid_until``, within the cap; still grantable    ``valid_until``
========  ==========================================================  =====================

The mandate a mandatary acts under is recorded in the event's details and, at grant or
approval, on the consent (R10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import DomainError, InvalidPeriod
from consent.lifecycle import ActorRole, ConsentAction
from consent.models import Consent
from consent.services.base import Actor
from consent.services.consent_reviews import consent_proofs, review_consent
from consent.services.consent_rules import (
    ConsentPolicy,
    check_access_period,
    check_still_grantable,
)
from consent.services.held_points import lock_household, points_held_by_recipient
from consent.services.reviews import check_online_path

_GRANTING = (ConsentAction.GRANT, ConsentAction.APPROVE)
_NEEDS_GRANTABLE = (ConsentAction.GRANT, ConsentAction.APPROVE, ConsentAction.RESUME)


@dataclass(slots=True)
class Move:
    """Column values the transition sets besides its state, and its event's details."""

    changes: dict[str, object] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)


async def prepare_move(session: AsyncSession, consent: Consent, action: ConsentAction,
                       actor: Actor, *, point_ids: Sequence[str], mandate_id: str | None,
                       now: datetime, policy: ConsentPolicy, reason: str,
                       valid_until: datetime | None = None,
                       extra: Mapping[str, object] | None = None) -> Move:
    """Check what ``action`` requires of ``consent`` (table above); ``extra`` goes into the
    event's details."""
    move = Move(details=dict(extra or {}))
    if mandate_id is not None:
        move.details["mandate_id"] = mandate_id
    if action is ConsentAction.GRANT:
        # Counted with what the recipient already holds of this household: R14 is not
        # bypassed by splitting a request; the lock keeps that count current until commit.
        await lock_household(session, consent.grantor_id)
        check_online_path(point_ids, await points_held_by_recipient(session, consent, now),
                          "consent", "recipient")
    if action in _NEEDS_GRANTABLE:
        await check_still_grantable(session, consent, point_ids, now)
    if action is ConsentAction.SUBMIT and not await consent_proofs(session, consent.id):
        raise DomainError("Attach at least one proof (the signed form) before submitting "
                          "(R14).", field="proofs")
    if actor.role is ActorRole.REVIEWER:
        await review_consent(session, consent, actor,
                             accepted=action is ConsentAction.APPROVE, reason=reason, now=now)
    if action in _GRANTING:
        move.changes["granted_at"] = now
        if mandate_id is not None:
            move.changes["mandate_id"] = mandate_id
    if action is ConsentAction.RENEW:
        assert valid_until is not None
        if valid_until <= consent.valid_until:
            raise InvalidPeriod("A renewal must move valid_until later.", field="valid_until",
                                reason="not_later")
        check_access_period(now, valid_until, now, policy)
        await check_still_grantable(session, consent, point_ids, now)
        move.changes["valid_until"] = valid_until
        move.details["valid_until"] = {"from": consent.valid_until.isoformat(),
                                       "to": valid_until.isoformat()}
    return move

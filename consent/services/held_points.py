"""The points of one household that a recipient or a mandatary already holds (R14).

R14 sends a request about more than two points through the written path. Counting only the
points of the request at hand would let anyone split three points into a request for two and a
request for one, both granted online; so an online grant counts, together with its own points,
the points of the *same household* that the *same holder* already has under a live grant:

* a consent: the consents of the same grantor (household) to the same recipient
  (:func:`points_held_by_recipient`);
* a mandate: the mandates of the same mandator (household) to the same mandatary, to the
  organisation it works for, or to the people who work for it, since a person acts under its
  organisation's mandates as well as its own (:func:`points_held_by_mandatary`).

*Live* means granted and not ended: ``active`` or ``suspended`` (a suspension is lifted without
another R14 check), and whose period has not run out (an expiry the sweep has not written yet
holds nothing). Requests not granted yet (``requested``, ``pending_review``) hold nothing: each
is checked when it is granted. A narrowing's consent does not count the consent it replaces.

The count is per household on purpose: a CPAS holds standing mandates from many households
(R11), and R14 is about one household's points. :func:`lock_household` makes the count current:
two online grants of one household at once would otherwise each count without the other.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.lifecycle import ConsentState, MandateState
from consent.models import Consent, ConsentPoint, Mandate, MandatePoint, Party
from consent.services.mandate_rules import acting_parties
from consent.storage.row_lock import read_for_update

#: Granted and not ended (a suspended grant resumes without a new R14 check).
_LIVE_CONSENT = (ConsentState.ACTIVE, ConsentState.SUSPENDED)
_LIVE_MANDATE = (MandateState.ACTIVE, MandateState.SUSPENDED)


async def lock_household(session: AsyncSession, household_id: str) -> None:
    """Hold the household's party row until the transaction ends, so that the points counted
    next are not changed by another online grant of the same household meanwhile. ``FOR NO KEY
    UPDATE``: rows that only reference the household (its consents, mandates) need not wait."""
    await read_for_update(session, select(Party.id).where(Party.id == household_id),
                          key_share=True)


async def points_held_by_recipient(session: AsyncSession, consent: Consent,
                                   now: datetime) -> set[str]:
    """The points of ``consent``'s grantor that its recipient holds under other live consents
    (not ``consent`` itself, nor the consent it supersedes)."""
    others = {consent.id} | ({consent.supersedes_id} if consent.supersedes_id else set())
    return await points_held_from(session, consent.tenant_id, consent.grantor_id,
                                  consent.recipient_id, now, excluding=others)


async def points_held_from(session: AsyncSession, tenant_id: str, household_id: str,
                           recipient_id: str, now: datetime, *,
                           excluding: Collection[str] = ()) -> set[str]:
    """The points of ``household_id`` that ``recipient_id`` holds under live consents (not
    those of ``excluding``): what an online grant to that recipient is counted with. The
    consent page counts them before the household decides (unlocked: only a hint there, the
    grant counts again under :func:`lock_household`)."""
    statement = select(ConsentPoint.point_id).join(
        Consent, col(Consent.id) == col(ConsentPoint.consent_id)).where(
        Consent.tenant_id == tenant_id, Consent.grantor_id == household_id,
        Consent.recipient_id == recipient_id, col(Consent.state).in_(_LIVE_CONSENT),
        col(Consent.valid_until) > now, col(Consent.id).not_in(excluding))
    return set((await session.exec(statement)).all())


async def points_held_by_mandatary(session: AsyncSession, mandate: Mandate,
                                   now: datetime) -> set[str]:
    """The points of ``mandate``'s mandator that its mandatary (or its organisation, or the
    people working for it) holds under other live mandates."""
    holders = await _holders(session, mandate.tenant_id, mandate.mandatary_id)
    statement = select(MandatePoint.point_id).join(
        Mandate, col(Mandate.id) == col(MandatePoint.mandate_id)).where(
        Mandate.tenant_id == mandate.tenant_id, Mandate.mandator_id == mandate.mandator_id,
        col(Mandate.mandatary_id).in_(holders), col(Mandate.state).in_(_LIVE_MANDATE),
        or_(col(Mandate.valid_until).is_(None), col(Mandate.valid_until) > now),
        Mandate.id != mandate.id)
    return set((await session.exec(statement)).all())


async def _holders(session: AsyncSession, tenant_id: str, mandatary_id: str) -> Collection[str]:
    """The mandatary, the organisation it works for, and the people who work for it: every
    party that would act on the points of a mandate naming it."""
    members = await session.exec(select(Party.id).where(Party.tenant_id == tenant_id,
                                                        Party.member_of_id == mandatary_id))
    return await acting_parties(session, tenant_id, mandatary_id) | set(members.all()) | {
        mandatary_id}

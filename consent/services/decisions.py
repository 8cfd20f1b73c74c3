"""A household's decisions that touch more than one consent row at once: narrowing a consent,
withdrawing everything a recipient holds (R6, R8, R20; consent-models.md §8.4, §8.6).

**Narrowing** is a change of scope, so it is not done in place (see :mod:`consent.lifecycle`):
a new consent with the same ``arrangement_id`` and ``supersedes_id`` pointing to the old one is
requested and granted, and the old one is revoked by Passerelle with reason ``superseded``, all
in one transaction. The old consent's tokens die with it (the token hook), so the recipient's
next request under the old scope is refused at once. A narrowing can only take away: fewer
points or datasets, a coarser resolution, a shorter look-back, an earlier end.

**Withdrawing everything for a recipient** moves every live consent of the household for that
recipient to ``withdrawn`` (pending requests to ``refused``) in one transaction: either all of
them stop, or none does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import DomainError, InvalidPeriod
from consent.identifiers import PointRef
from consent.lifecycle import ConsentAction, ConsentState
from consent.models import Consent, ConsentPoint, MeteringPoint
from consent.services.base import Actor, check_version
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService, ConsentTransition
from consent.services.queries import get_row
from consent.vocabulary import Dataset, Resolution

SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What the household keeps; ``None`` keeps the consent's current value."""

    points: Sequence[PointRef] | None = None
    datasets: Sequence[Dataset] | None = None
    max_resolution: Resolution | None = None
    history_days: int | None = None
    valid_until: datetime | None = None


def narrower_draft(consent: Consent, points: Sequence[PointRef], wanted: Narrowing,
                   now: datetime) -> ConsentDraft:
    """The draft of the narrowed consent; :class:`DomainError` naming the field that would
    widen the consent (or when nothing changes)."""
    new_points = list(dict.fromkeys(wanted.points if wanted.points is not None else points))
    if not new_points or not set(new_points) <= set(points):
        raise DomainError("Keep at least one of the consent's points, and only those.",
                          field="points", reason="points")
    datasets = list(dict.fromkeys(wanted.datasets if wanted.datasets is not None
                                  else [Dataset(d) for d in consent.datasets]))
    if not datasets or not {d.value for d in datasets} <= set(consent.datasets):
        raise DomainError("Keep at least one of the consent's datasets, and only those.",
                          field="datasets", reason="datasets")
    resolution = wanted.max_resolution or consent.max_resolution
    if resolution.finer_than(consent.max_resolution):
        raise DomainError("A narrowed consent cannot be finer than "
                          f"{consent.max_resolution.value}.", field="max_resolution",
                          reason="resolution")
    native = [d.spec.finest for d in datasets if d.spec.finest is not None]
    finest = min(native, key=lambda r: r.nominal) if native else Resolution.P1D
    if resolution.finer_than(finest):  # no load curve kept: nothing finer than a day to allow
        resolution = finest
    history = wanted.history_days if wanted.history_days is not None else consent.history_days
    if not 1 <= history <= consent.history_days:
        raise InvalidPeriod(f"The look-back is between 1 and {consent.history_days} days.",
                            field="history_days", reason="history")
    until = wanted.valid_until or consent.valid_until
    if until > consent.valid_until or until <= now:
        raise InvalidPeriod("The new end must be after now and not after the current end.",
                            field="valid_until", reason="until")
    same = (set(new_points) == set(points)
            and {d.value for d in datasets} == set(consent.datasets)
            and resolution is consent.max_resolution and history == consent.history_days
            and until == consent.valid_until)
    if same:
        raise DomainError("Nothing would change.", field="consent", reason="unchanged")
    return ConsentDraft(
        grantor_id=consent.grantor_id, recipient_id=consent.recipient_id, points=new_points,
        datasets=datasets, purpose=consent.purpose, valid_until=until, max_resolution=resolution,
        data_from=consent.data_from, history_days=history, legal_basis=consent.legal_basis,
        text_version=consent.text_version, text_hash=consent.text_hash,
        arrangement_id=consent.arrangement_id, view=consent.view,
        community_id=consent.community_id)


class HouseholdDecisions:
    """Multi-row decisions over a :class:`ConsentService` (same hooks, same transaction rules)."""

    def __init__(self, consents: ConsentService) -> None:
        self.consents = consents

    async def narrow(self, actor: Actor, consent_id: str, wanted: Narrowing, *,
                     expected_version: int | None = None) -> ConsentTransition:
        """Replace an active consent by a narrower one; returns the new consent's grant."""
        service = self.consents
        async with service.db.session() as session:
            old = await get_row(session, Consent, actor.tenant_id, consent_id, "consent")
            await service._standing(session, old, actor, await _point_ids(session, old.id),
                                    service.clock.now())
            check_version(old, expected_version)
            if ConsentState(old.state) is not ConsentState.ACTIVE:
                raise DomainError("Only an active consent can be narrowed.", field="consent",
                                  reason="not_active")
            draft = narrower_draft(old, await _point_refs(session, old.id), wanted,
                                   service.clock.now())
            created = await service._create(session, actor, draft, "narrowed by the household")
            created.row.supersedes_id = old.id
            granted = await service._move(session, created.row, ConsentAction.GRANT, actor,
                                          "narrowed by the household",
                                          extra={"supersedes": old.id})
            await service._move(session, old, ConsentAction.REVOKE,
                                Actor.system(actor.tenant_id), SUPERSEDED,
                                extra={"superseded_by": created.row.id,
                                       "requested_by_party": actor.party_id,
                                       "requested_by_account": actor.account_id})
            return granted

    async def withdraw_all(self, actor: Actor, grantor_id: str, recipient_id: str, *,
                           reason: str = "") -> list[ConsentTransition]:
        """Withdraw (or refuse, if still requested) every live consent of ``grantor_id`` for
        ``recipient_id``; all in one transaction. Empty when there was nothing live."""
        service = self.consents
        async with service.db.session() as session:
            statement = select(Consent).where(
                Consent.tenant_id == actor.tenant_id, Consent.grantor_id == grantor_id,
                Consent.recipient_id == recipient_id,
                col(Consent.state).in_([ConsentState.ACTIVE, ConsentState.SUSPENDED,
                                        ConsentState.REQUESTED]),
            ).order_by(col(Consent.created_at), col(Consent.id))
            done = []
            for consent in (await session.exec(statement)).all():
                action = (ConsentAction.REFUSE
                          if ConsentState(consent.state) is ConsentState.REQUESTED
                          else ConsentAction.WITHDRAW)
                done.append(await service._move(session, consent, action, actor, reason,
                                                extra={"bulk": "recipient"}))
            return done


async def _point_ids(session: AsyncSession, consent_id: str) -> list[str]:
    result = await session.exec(select(ConsentPoint.point_id)
                                .where(ConsentPoint.consent_id == consent_id))
    return list(result.all())


async def _point_refs(session: AsyncSession, consent_id: str) -> list[PointRef]:
    result = await session.exec(select(MeteringPoint).join(
        ConsentPoint, col(ConsentPoint.point_id) == col(MeteringPoint.id)).where(
        ConsentPoint.consent_id == consent_id))
    return sorted(p.ref for p in result.all())

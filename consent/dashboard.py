"""What a household's page shows about itself (R8, R16, R20): read-only, tenant-scoped queries.

* :func:`overview`: the points the household occupies and, for each of its consents, the
  recipient (purpose, legal basis, GDPR role), datasets, resolution, look-back, access period,
  state, when the recipient last read data under it (from the access events of the last 31
  days) and how many reads it made (those, plus the weekly and monthly counts of R17);
* :func:`access_history`: who read (or tried to read) which dataset of which point, when and
  over which data window, filtered by recipient and dataset. A household sees the accesses made
  (or refused) under its own consents and its own mandates, and the attempts under neither on
  its points during its occupancy; never an access under another household's consent or
  mandate, even on its own points: a previous occupant's CPAS still polling under the mandate
  revoked at the move-out would tell the newcomer that social services assisted that client
  (R8, R9, R13). An access event records the consent or mandate it was decided under, not the
  household; an event with neither was under no grant of any household, and the occupancy of
  its point at its instant says whose point it was. Accesses more than 31 days old are no
  longer kept one by one (R17, :mod:`consent.retention_sweep`): the history gives their weekly
  and monthly counts instead (:class:`CountLine`); an attempt without consent is counted for
  the household only if its whole week or month lies within the household's occupancy (R8
  wins over completeness in the weeks of a move);
* :func:`household_consent`: one consent *of this household*, else
  :class:`~consent.errors.NotFound`, exactly as if it did not exist (no id guessing, R24).

The household's own reads on its page (API ``portal``) are not part of the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.access_counts import AccessCountRow
from consent.access_events import AccessEventRow
from consent.errors import NotFound
from consent.history_counts import PORTAL_API as PORTAL_API
from consent.history_counts import CountLine, counted_history
from consent.households import occupied_points
from consent.identifiers import PointRef
from consent.lifecycle import ConsentState
from consent.models import (
    Community,
    Consent,
    ConsentPoint,
    Mandate,
    MeteringPoint,
    Occupancy,
    Recipient,
)

#: States in which a consent still matters to the household (it can act on it).
LIVE_STATES = frozenset({ConsentState.ACTIVE, ConsentState.SUSPENDED, ConsentState.REQUESTED,
                         ConsentState.PENDING_REVIEW})
# PORTAL_API (re-exported above): the API name of the household's own reads (proxy/portal),
# left out of the history.


@dataclass(frozen=True, slots=True)
class ConsentLine:
    """One consent as the household sees it; ``community``: the community a community consent
    feeds (R4), ``None`` for an individual one. ``last_read`` is ``None`` when no read is left
    in detail (none, or all more than 31 days old), ``reads`` counts every read still kept in
    detail or counted (R17: 20 months at most)."""

    consent: Consent
    recipient: Recipient
    points: tuple[PointRef, ...]
    last_read: datetime | None
    reads: int
    community: Community | None = None

    @property
    def live(self) -> bool:
        """True while the household can still act on it (active, suspended, requested)."""
        return ConsentState(self.consent.state) in LIVE_STATES


@dataclass(frozen=True, slots=True)
class PointLine:
    """One point the household occupies, since when, and the live consents covering it."""

    point: MeteringPoint
    since: datetime
    consents: tuple[ConsentLine, ...]


@dataclass(frozen=True, slots=True)
class Overview:
    """The household's page: points, live consents, ended ones."""

    points: tuple[PointLine, ...]
    live: tuple[ConsentLine, ...]
    ended: tuple[ConsentLine, ...]

    def recipients(self) -> list[Recipient]:
        """The recipients holding at least one live consent, by name."""
        seen = {line.recipient.id: line.recipient for line in self.live}
        return sorted(seen.values(), key=lambda r: r.name.casefold())


async def consent_lines(session: AsyncSession, tenant_id: str, household_id: str,
                        consent_ids: list[str] | None = None) -> list[ConsentLine]:
    """The household's consents (all, or those of ``consent_ids``), newest first."""
    statement = select(Consent, Recipient, Community).join(
        Recipient, col(Recipient.id) == col(Consent.recipient_id)).outerjoin(
        Community, col(Community.id) == col(Consent.community_id)).where(
        Consent.tenant_id == tenant_id, Consent.grantor_id == household_id)
    if consent_ids is not None:
        statement = statement.where(col(Consent.id).in_(consent_ids))
    rows = (await session.exec(statement.order_by(col(Consent.created_at).desc(),
                                                  col(Consent.id)))).all()
    ids = [consent.id for consent, _, _ in rows]
    refs: dict[str, list[PointRef]] = {i: [] for i in ids}
    if ids:
        pairs = (await session.exec(select(ConsentPoint.consent_id, MeteringPoint).join(
            MeteringPoint, col(MeteringPoint.id) == col(ConsentPoint.point_id)).where(
            col(ConsentPoint.consent_id).in_(ids)))).all()
        for consent_id, point in pairs:
            refs[consent_id].append(point.ref)
    reads = await _reads(session, ids)
    return [ConsentLine(consent, recipient, tuple(sorted(refs[consent.id])),
                        *reads.get(consent.id, (None, 0)), community)
            for consent, recipient, community in rows]


async def overview(session: AsyncSession, tenant_id: str, household_id: str,
                   now: datetime) -> Overview:
    """See the module docstring."""
    lines = await consent_lines(session, tenant_id, household_id)
    live = tuple(line for line in lines if line.live)
    ended = tuple(line for line in lines if not line.live)
    points = []
    for point in await occupied_points(session, tenant_id, household_id, now):
        since = (await session.exec(select(Occupancy.starts_at).where(
            Occupancy.point_id == point.id, Occupancy.household_id == household_id,
            col(Occupancy.starts_at) <= now).order_by(col(Occupancy.starts_at).desc()))).first()
        covering = tuple(line for line in live if point.ref in line.points)
        points.append(PointLine(point, since or now, covering))
    return Overview(tuple(points), live, ended)


async def household_consent(session: AsyncSession, tenant_id: str, household_id: str,
                            consent_id: str) -> ConsentLine:
    """One consent of the household, else :class:`NotFound` (same answer for a stranger's)."""
    lines = await consent_lines(session, tenant_id, household_id, [consent_id])
    if not lines:
        raise NotFound("No consent of yours has this id.", field="consent_id")
    return lines[0]


async def _reads(session: AsyncSession,
                 consent_ids: list[str]) -> dict[str, tuple[datetime | None, int]]:
    """Last served read kept in detail and number of served reads kept, per consent."""
    if not consent_ids:
        return {}
    rows = (await session.exec(select(
        AccessEventRow.consent_id, func.max(AccessEventRow.at), func.count()).where(
        col(AccessEventRow.consent_id).in_(consent_ids),
        AccessEventRow.outcome == "served").group_by(col(AccessEventRow.consent_id)))).all()
    reads: dict[str, tuple[datetime | None, int]] = {
        cid: (last, int(count)) for cid, last, count in rows if cid is not None}
    counted = (await session.exec(select(AccessCountRow.consent_id,
                                         func.sum(AccessCountRow.count)).where(
        col(AccessCountRow.consent_id).in_(consent_ids),
        AccessCountRow.outcome == "served").group_by(col(AccessCountRow.consent_id)))).all()
    for cid, count in counted:
        if cid is not None:
            last, recent = reads.get(cid, (None, 0))
            reads[cid] = (last, recent + int(count or 0))
    return reads


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which accesses to list: by recipient, dataset, and within ``[since, until)``."""

    since: datetime
    until: datetime
    recipient_id: str | None = None
    dataset: str | None = None
    limit: int = 500


@dataclass(frozen=True, slots=True)
class AccessLine:
    """One access: the event row and the recipient's name (``None`` if none was known)."""

    event: AccessEventRow
    recipient: str | None


@dataclass(frozen=True, slots=True)
class History:
    """The accesses selected, newest first, the counts of older ones overlapping the filter's
    period (newest first), and the recipients seen in the whole history (for the filter's
    choices)."""

    lines: tuple[AccessLine, ...]
    recipients: tuple[Recipient, ...] = field(default_factory=tuple)
    truncated: bool = False
    counts: tuple[CountLine, ...] = ()


async def access_history(session: AsyncSession, tenant_id: str, household_id: str,
                         wanted: HistoryFilter) -> History:
    """See the module docstring."""
    consent_ids = list((await session.exec(select(Consent.id).where(
        Consent.tenant_id == tenant_id, Consent.grantor_id == household_id))).all())
    mandate_ids = list((await session.exec(select(Mandate.id).where(
        Mandate.tenant_id == tenant_id, Mandate.mandator_id == household_id))).all())
    occupancies = (await session.exec(select(Occupancy, MeteringPoint).join(
        MeteringPoint, col(MeteringPoint.id) == col(Occupancy.point_id)).where(
        Occupancy.tenant_id == tenant_id, Occupancy.household_id == household_id))).all()
    # Attempts under no grant at all on the household's points, while it occupied them. An
    # event under a grant belongs to the grant's household only: one under a previous
    # occupant's consent or mandate on the same point is that household's, not this one's.
    attempts = [and_(col(AccessEventRow.point) == str(point.ref),
                     col(AccessEventRow.at) >= occupancy.starts_at,
                     *([col(AccessEventRow.at) < occupancy.ends_at] if occupancy.ends_at
                       else []))
                for occupancy, point in occupancies]
    granted = [col(AccessEventRow.consent_id).in_(consent_ids),
               col(AccessEventRow.mandate_id).in_(mandate_ids)]
    ungranted = and_(col(AccessEventRow.consent_id).is_(None),
                     col(AccessEventRow.mandate_id).is_(None), or_(*attempts))
    mine = or_(*granted, ungranted) if attempts else or_(*granted)
    base = select(AccessEventRow).where(AccessEventRow.tenant_id == tenant_id, mine,
                                        AccessEventRow.api != PORTAL_API)
    seen = (await session.exec(select(AccessEventRow.recipient_id).where(
        AccessEventRow.tenant_id == tenant_id, mine, AccessEventRow.api != PORTAL_API)
        .distinct())).all()
    statement = base.where(col(AccessEventRow.at) >= wanted.since,
                           col(AccessEventRow.at) < wanted.until)
    if wanted.recipient_id is not None:
        statement = statement.where(AccessEventRow.recipient_id == wanted.recipient_id)
    if wanted.dataset is not None:
        statement = statement.where(AccessEventRow.dataset == wanted.dataset)
    rows = list((await session.exec(statement.order_by(col(AccessEventRow.at).desc())
                                    .limit(wanted.limit + 1))).all())
    counts, counted_by = await counted_history(
        session, tenant_id, consent_ids, mandate_ids, occupancies, since=wanted.since,
        until=wanted.until,
        recipient_id=wanted.recipient_id, dataset=wanted.dataset)
    recipients = {r.id: r for r in (await session.exec(select(Recipient).where(
        col(Recipient.id).in_({s for s in seen if s is not None} | counted_by)))).all()}
    lines = tuple(AccessLine(row, recipients[row.recipient_id].name
                             if row.recipient_id in recipients else None)
                  for row in rows[:wanted.limit])
    named = tuple(replace(c, recipient=recipients[c.recipient_id].name)
                  if c.recipient_id in recipients else c for c in counts)
    ordered = tuple(sorted(recipients.values(), key=lambda r: r.name.casefold()))
    return History(lines, ordered, truncated=len(rows) > wanted.limit, counts=named)

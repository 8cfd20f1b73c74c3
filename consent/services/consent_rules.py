"""What a consent request must satisfy before anything is written (R5, R8, R12, caps).

:class:`ConsentDraft` is the raw request (vocabulary may still be text);
:func:`validate_terms` turns it into :class:`ConsentTerms` or raises the typed error that says
what is wrong. :func:`check_scope` then checks the terms against the recipient, the grantor's
occupancy and the points' energies, and is run again at grant time. :func:`check_view` checks
a community consent's community (R4). :func:`new_consent` runs them all and builds the row the
service inserts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import DomainError, InvalidPeriod, NotFound, NotPermitted
from consent.identifiers import PointRef
from consent.lifecycle import ActorRole, ConsentState
from consent.models import (
    Community,
    Consent,
    MeteringPoint,
    Party,
    PartyKind,
    Recipient,
    RecipientState,
)
from consent.periods import Period
from consent.purposes import ConsentView, LegalBasis, Purpose
from consent.services.base import Actor
from consent.services.mandate_rules import acting_parties, covering_mandate
from consent.services.queries import get_row, occupancy_at, points_by_ref
from consent.vocabulary import MAX_HISTORY, Dataset, Resolution

#: How far in the past a consent's start may be put (clock skew between pages and server).
START_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """The operator's caps. ``max_access`` bounds ``valid_until - valid_from`` (three years by
    default, configurable down: CDR uses twelve months); ``max_history`` bounds the look-back
    (R12: three years at most, not configurable up)."""

    max_access: timedelta = timedelta(days=3 * 365 + 1)
    max_history: timedelta = MAX_HISTORY

    def __post_init__(self) -> None:
        if self.max_history > MAX_HISTORY:
            raise ValueError("R12: history is capped at three years")


@dataclass(frozen=True, slots=True)
class ConsentDraft:
    """A consent as asked for: by the household's page, a mandatary, or a recipient."""

    grantor_id: str
    recipient_id: str
    points: Sequence[PointRef]
    datasets: Sequence[Dataset | str]
    purpose: Purpose | str
    valid_until: datetime
    max_resolution: Resolution | str = Resolution.P1D
    valid_from: datetime | None = None
    data_from: datetime | None = None
    history_days: int | None = None
    legal_basis: LegalBasis | str | None = None
    text_version: str | None = None
    text_hash: str | None = None
    arrangement_id: str | None = None
    view: ConsentView | str = ConsentView.INDIVIDUAL
    community_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentTerms:
    """A draft whose vocabulary and periods are valid (not yet checked against the data)."""

    points: tuple[PointRef, ...]
    datasets: tuple[Dataset, ...]
    purpose: Purpose
    legal_basis: LegalBasis | None
    max_resolution: Resolution
    valid_from: datetime
    valid_until: datetime
    data_from: datetime | None
    history_days: int


def validate_terms(draft: ConsentDraft, now: datetime, policy: ConsentPolicy) -> ConsentTerms:
    """Parse the vocabulary and check the periods and caps of ``draft``."""
    datasets = tuple(dict.fromkeys(d if isinstance(d, Dataset) else Dataset.parse(d)
                                   for d in draft.datasets))
    if not datasets:
        raise DomainError("A consent covers at least one dataset.", field="datasets")
    points = tuple(dict.fromkeys(draft.points))
    if not points:
        raise DomainError("A consent covers at least one metering point.", field="points")
    if any(not isinstance(p, PointRef) for p in points):
        raise DomainError("Points must be validated PointRef values.", field="points")
    purpose = draft.purpose if isinstance(draft.purpose, Purpose) else Purpose.parse(draft.purpose)
    basis = draft.legal_basis
    if basis is not None and not isinstance(basis, LegalBasis):
        basis = LegalBasis.parse(basis)
    resolution = (draft.max_resolution if isinstance(draft.max_resolution, Resolution)
                  else Resolution.parse(draft.max_resolution))
    access = check_access_period(draft.valid_from or now, draft.valid_until, now, policy)
    history_days = draft.history_days if draft.history_days is not None else \
        policy.max_history.days
    if not 1 <= history_days <= policy.max_history.days:
        raise InvalidPeriod(
            f"The look-back must be between 1 and {policy.max_history.days} days (R12: at most "
            f"three years of history), got {history_days}.", field="history_days")
    if draft.data_from is not None:
        if draft.data_from.tzinfo is None:
            raise InvalidPeriod("data_from must carry a timezone.", field="data_from")
        if draft.data_from >= draft.valid_until:
            raise InvalidPeriod("data_from must be before the end of the access period.",
                                field="data_from")
    return ConsentTerms(points, datasets, purpose, basis, resolution, access.start,
                        draft.valid_until, draft.data_from, history_days)


def check_access_period(valid_from: datetime, valid_until: datetime, now: datetime,
                        policy: ConsentPolicy) -> Period:
    """``[valid_from, valid_until)`` if it is well formed, not in the past, and capped."""
    access = Period(valid_from, valid_until)  # raises on reversed or naive bounds
    if valid_from < now - START_TOLERANCE:
        raise InvalidPeriod(f"A consent cannot start in the past ({valid_from.isoformat()}).",
                            field="valid_from")
    duration = access.duration
    assert duration is not None
    if duration > policy.max_access:
        raise InvalidPeriod(
            f"The access period lasts {duration.days} days; the longest "
            f"allowed is {policy.max_access.days} days.", field="valid_until",
            max_days=policy.max_access.days)
    return access


def check_scope(recipient: Recipient, terms_datasets: Sequence[Dataset], purpose: Purpose,
                legal_basis: LegalBasis | None, points: Sequence[MeteringPoint]) -> None:
    """The recipient may receive these datasets for this purpose (R5), and each dataset exists
    on at least one of the points (no production data from a consumption-only meter)."""
    if RecipientState(recipient.state) is not RecipientState.ACTIVE:
        raise NotPermitted(f"The recipient {recipient.name!r} is {recipient.state} and cannot "
                           "receive consents.", field="recipient_id")
    refused = [d.value for d in terms_datasets if d.value not in recipient.allowed_datasets]
    if refused:
        raise NotPermitted(
            f"{recipient.name!r} is not registered to receive {', '.join(refused)} (R5).",
            field="datasets", allowed=list(recipient.allowed_datasets))
    if purpose.value not in recipient.purposes:
        raise NotPermitted(f"{recipient.name!r} did not declare the purpose {purpose.value} (R5).",
                           field="purpose", allowed=list(recipient.purposes))
    if legal_basis is not None and legal_basis is not recipient.legal_basis:
        raise DomainError(
            f"{recipient.name!r} declared the legal basis {recipient.legal_basis}, not "
            f"{legal_basis.value}.", field="legal_basis")
    for dataset in terms_datasets:
        spec = dataset.spec
        if not any(p.can_have(dataset) for p in points):
            raise DomainError(f"None of the chosen points has {dataset.value} ({spec.title}).",
                              field="datasets")


async def check_view(session: AsyncSession, tenant_id: str, recipient: Recipient,
                     purpose: Purpose, view: ConsentView | str,
                     community_id: str | None) -> tuple[ConsentView, str | None]:
    """The view and community of a new consent (R4, :mod:`consent.community_consent`): an
    individual consent names no community; a community one names a community of the tenant
    run by the recipient (another's is not found) and serves collective self-consumption."""
    parsed = view if isinstance(view, ConsentView) else ConsentView.parse(view)
    if parsed is ConsentView.INDIVIDUAL:
        if community_id is not None:
            raise DomainError("An individual consent names no community.",
                              field="community_id", rule="R4")
        return parsed, None
    if not community_id:
        raise DomainError("A community consent names the community whose aggregate it feeds.",
                          field="community_id", rule="R4")
    community = await get_row(session, Community, tenant_id, community_id, "community")
    if community.organiser_id != recipient.id:
        raise NotFound(f"No community with id {community_id!r}.", field="community_id")
    if purpose is not Purpose.COLLECTIVE_SELF_CONSUMPTION:
        raise DomainError("A community consent serves collective self-consumption (R4).",
                          field="purpose", rule="R4")
    return parsed, community.id


async def check_occupied_by(session: AsyncSession, points: Sequence[MeteringPoint],
                            household_id: str, at: datetime) -> None:
    """Every point is occupied by ``household_id`` at ``at`` (R8: only the client of a point
    may share its data)."""
    for point in points:
        occupancy = await occupancy_at(session, point.id, at)
        if occupancy is None or occupancy.household_id != household_id:
            raise NotPermitted(
                f"The point {point.ref} is not occupied by this household now (R8): only its "
                "current client can share its data.", field="points", rule="R8")


async def check_standing(session: AsyncSession, actor: Actor, *, grantor_id: str,
                         recipient_id: str, datasets: Sequence[str], point_ids: Sequence[str],
                         now: datetime) -> str | None:
    """The actor may act on a consent of ``grantor_id`` for ``recipient_id``; return the id of
    the mandate a mandatary acts under. Strangers get :class:`NotFound` (R24)."""
    role = actor.role
    if role is ActorRole.SUBJECT and actor.party_id != grantor_id:
        raise NotFound("No consent of yours has this id.", field="consent_id")
    if role is ActorRole.RECIPIENT:
        recipient = await get_row(session, Recipient, actor.tenant_id, recipient_id,
                                  "recipient")
        if actor.party_id != recipient.party_id:
            raise NotFound("No consent for you has this id.", field="consent_id")
    if role is ActorRole.MANDATARY:
        assert actor.party_id is not None
        mandate = await covering_mandate(
            session, tenant_id=actor.tenant_id, mandator_id=grantor_id,
            mandatary_ids=await acting_parties(session, actor.tenant_id, actor.party_id),
            point_ids=point_ids, datasets=datasets, at=now, manage_consents=True)
        return mandate.id
    return None


async def check_still_grantable(session: AsyncSession, consent: Consent,
                                point_ids: Sequence[str], now: datetime) -> None:
    """At grant, resume or renew: the access period runs, the recipient may still receive
    the consent's datasets, and the grantor still occupies every point (R5, R8)."""
    if consent.valid_until <= now:
        raise InvalidPeriod("This consent's access period is over; it can only expire.",
                            field="valid_until")
    recipient = await get_row(session, Recipient, consent.tenant_id, consent.recipient_id,
                              "recipient")
    points = [await get_row(session, MeteringPoint, consent.tenant_id, pid, "point")
              for pid in point_ids]
    check_scope(recipient, [Dataset(d) for d in consent.datasets], consent.purpose, None,
                points)
    await check_occupied_by(session, points, consent.grantor_id, now)


async def new_consent(session: AsyncSession, actor: Actor, draft: ConsentDraft,
                      state: ConsentState,
                      now: datetime, policy: ConsentPolicy,
                      ) -> tuple[Consent, list[MeteringPoint]]:
    """The consent ``draft`` asks for, in ``state``, and its points, once every rule above
    holds (nothing is written here). The actor's standing is checked before the points are
    looked up, so that nobody learns about points they have no business with (R24)."""
    terms = validate_terms(draft, now, policy)
    grantor = await get_row(session, Party, actor.tenant_id, draft.grantor_id, "party")
    if grantor.kind != PartyKind.HOUSEHOLD:
        raise NotFound(f"No household with id {draft.grantor_id!r}.", field="grantor_id")
    recipient = await get_row(session, Recipient, actor.tenant_id, draft.recipient_id,
                              "recipient")
    datasets = [d.value for d in terms.datasets]
    await check_standing(session, actor, grantor_id=grantor.id, recipient_id=recipient.id,
                         datasets=datasets, point_ids=[], now=now)
    points = await points_by_ref(session, actor.tenant_id, terms.points)
    check_scope(recipient, terms.datasets, terms.purpose, terms.legal_basis, points)
    view, community_id = await check_view(session, actor.tenant_id, recipient, terms.purpose,
                                          draft.view, draft.community_id)
    await check_occupied_by(session, points, grantor.id, now)
    mandate_id = await check_standing(session, actor, grantor_id=grantor.id,
                                      recipient_id=recipient.id, datasets=datasets,
                                      point_ids=[p.id for p in points], now=now)
    return Consent(
        tenant_id=actor.tenant_id, arrangement_id=draft.arrangement_id or str(uuid.uuid4()),
        grantor_id=grantor.id, recipient_id=recipient.id, mandate_id=mandate_id,
        datasets=datasets, max_resolution=terms.max_resolution,
        valid_from=terms.valid_from, valid_until=terms.valid_until,
        data_from=terms.data_from, history_days=terms.history_days, purpose=terms.purpose,
        legal_basis=terms.legal_basis or recipient.legal_basis, state=state,
        text_version=draft.text_version, text_hash=draft.text_hash, created_at=now,
        updated_at=now, version=1, view=view, community_id=community_id,
    ), points

"""The facts one access decision is made on (R6, R8, R12, R13), as frozen values.

The proxy gathers an :class:`AccessContext` (what the token says, a snapshot of the consent, what
is known about the point) and hands it to a policy of :mod:`consent.checks`. Nothing here does
I/O; a ``None`` member means the input is missing, and a check that needs it denies.

Every window is half-open ``[start, end)`` (:class:`~consent.periods.Period`): the consent's end
instant is the first instant it no longer covers, the day after move-out is not the household's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from consent.errors import AccessDenied
from consent.identifiers import PointRef
from consent.periods import Period, local_midnight
from consent.purposes import ConsentView
from consent.vocabulary import Dataset, Resolution, history_floor

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One read asked for: a dataset of a point, over a window, at a resolution, at an instant.

    ``window`` and ``resolution`` are ``None`` for record datasets (contract, identity...).
    ``at`` is when the request is evaluated (the proxy's clock), timezone-aware. ``timezone``
    is the point's local time, in which denials write the windows they report.
    ``community_id`` names the community whose aggregate this read is one member's part of
    (R4); ``None``: the point is read on its own. ``day_start`` is the local hour the point's
    metering day starts (:attr:`~consent.vocabulary.Energy.day_start`: 6 for the gas day).
    """

    point: PointRef
    dataset: Dataset
    at: datetime
    window: Period | None = None
    resolution: Resolution | None = None
    timezone: ZoneInfo = UTC_ZONE
    community_id: str | None = None
    day_start: int = 0


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a verified bearer token says (R6: the token is a view).

    ``points`` / ``datasets`` ``None`` mean the token itself does not narrow them (a client
    credentials token, whose view is the union of the recipient's consents); the consent still
    does.
    """

    recipient_id: str
    expires_at: datetime
    revoked: bool = False
    consent_id: str | None = None
    points: frozenset[PointRef] | None = None
    datasets: frozenset[Dataset] | None = None


@dataclass(frozen=True, slots=True)
class ConsentGrant:
    """A snapshot of one consent, as far as checks need it.

    ``active`` is the consent state machine's verdict (granted, not revoked, not suspended);
    ``access`` is when the recipient may read; ``data_window`` is which data it may read as
    of the snapshot, and ``history`` how far back from the read it may go (R12: the window's
    start moves with the read instant, :meth:`data_window_at`);
    ``finest`` caps the resolution per dataset (absent: the dataset's native resolutions);
    ``fields`` lists the released fields of record datasets (absent: every field of the dataset).
    ``recipient_is_supplier`` switches on R13. ``mandate_id`` is set when the grant is not a
    consent but a mandate whose mandatary is the recipient (R10, R11: it reads for the
    household within the mandate's scope); ``consent_id`` is then empty.
    ``view`` says whether the recipient may read the points on their own or only inside the
    aggregate of the community ``community_id`` (R4, :mod:`consent.community_consent`).
    """

    consent_id: str
    recipient_id: str
    active: bool
    access: Period
    points: frozenset[PointRef]
    datasets: frozenset[Dataset]
    data_window: Period
    revoked_at: datetime | None = None
    finest: Mapping[Dataset, Resolution] = field(default_factory=dict)
    fields: Mapping[Dataset, frozenset[str]] = field(default_factory=dict)
    recipient_is_supplier: bool = False
    mandate_id: str | None = None
    history: timedelta | None = None
    view: ConsentView = ConsentView.INDIVIDUAL
    community_id: str | None = None

    def data_window_at(self, at: datetime) -> Period:
        """Which data may be read at ``at``: the snapshot's window, its start moved up to
        ``at - history`` when that is later (a snapshot judged again later, at the release of
        a slow DSO call, must not release a day its history has left behind since)."""
        if self.history is None or at - self.history <= self.data_window.start:
            return self.data_window
        return Period(at - self.history, self.data_window.end)

    @property
    def basis(self) -> str:
        """``consent`` or ``mandate``: what the household gave (for messages)."""
        return "mandate" if self.mandate_id is not None else "consent"

    def finest_for(self, dataset: Dataset) -> Resolution | None:
        """The finest resolution this consent releases for ``dataset`` (``None`` for records)."""
        native = dataset.spec.finest
        capped = self.finest.get(dataset)
        if native is None or capped is None:
            return native
        return capped if native.finer_than(capped) else native

    def fields_for(self, dataset: Dataset) -> frozenset[str]:
        """The record fields this consent releases for ``dataset``, within the dataset's fields."""
        spec_fields = frozenset(dataset.spec.fields)
        return self.fields.get(dataset, spec_fields) & spec_fields


@dataclass(frozen=True, slots=True)
class PointFacts:
    """What is known about the point for the consenting household.

    ``occupancy``: the household's occupancy periods of the point (R8). ``upstream``: the
    validity of the upstream authorisation that lets the operator fetch the point at all.
    ``supplier_contract``: the recipient's registered supply contract on the point (R13), only
    looked at when the recipient is a supplier.
    """

    occupancy: tuple[Period, ...] = ()
    upstream: Period | None = None
    supplier_contract: Period | None = None


@dataclass(frozen=True, slots=True)
class AccessContext:
    """Everything a policy decides on. A ``None`` member is missing input, which denies."""

    request: ReadRequest
    token: TokenGrant | None
    consent: ConsentGrant | None
    point: PointFacts | None


@dataclass(frozen=True, slots=True)
class Denial:
    """A check's "no": the rule, a sentence for a person, what would have been allowed, and
    for a rule that can say no for more than one reason, which (``reason``: a stable token an
    API maps to its own code, such as ``before-move-in``)."""

    rule: str
    detail: str
    allowed: Mapping[str, Any] | None = None
    reason: str | None = None

    def to_error(self) -> AccessDenied:
        """The domain error the HTTP edge renders (problem+json or a Data Connect body)."""
        return AccessDenied(self.detail, rule=self.rule,
                            allowed=dict(self.allowed) if self.allowed is not None else None,
                            **({"reason": self.reason} if self.reason is not None else {}))


def window_json(period: Period, tz: ZoneInfo = UTC_ZONE) -> dict[str, str | None]:
    """A period as the ``allowed.window`` member of a denial, in local time ``tz``."""
    return {"start": period.start.astimezone(tz).isoformat(),
            "end": period.end.astimezone(tz).isoformat() if period.end is not None else None}


def allowed_window(ctx: AccessContext) -> Period | None:
    """The widest data window every window rule would accept, or ``None`` if there is none.

    The intersection of the consent's data window, the household's occupancy period (the one
    overlapping the request, else the latest), the upstream authorisation, the R12 history
    floor and, for a supplier, its contract on the point (R13: none in force now, no window).
    Denials report it so that a recipient can correct its request in one go; as both
    APIs ask for whole local days, a start within a day (a history floor counted back from
    the present instant) is moved to the next local midnight, the first day that can be asked,
    and the end is today's local midnight at the latest (data is published up to yesterday),
    yesterday's while the metering day has not turned (a gas day runs 06:00 to 06:00: at 03:00
    yesterday's is not over, so the last day that can be asked is the day before).
    """
    if ctx.consent is None or ctx.point is None or ctx.point.upstream is None:
        return None
    occupancy = pick_occupancy(ctx.point.occupancy, ctx.request.window)
    if occupancy is None:
        return None
    bounds = [ctx.consent.data_window_at(ctx.request.at), occupancy, ctx.point.upstream]
    if ctx.consent.recipient_is_supplier:
        contract = ctx.point.supplier_contract
        if contract is None or not contract.contains(ctx.request.at):
            return None
        bounds.append(contract)
    window: Period | None = Period(history_floor(ctx.request.at), None)
    for bound in bounds:
        window = window.intersection(bound) if window is not None else None
    if window is None:
        return None
    tz = ctx.request.timezone
    start = next_midnight(window.start, tz)
    # Data is published up to the last metering day that has ended: no window can end after
    # the local midnight that starts the current one (today's; yesterday's before 06:00 on gas).
    local = ctx.request.at.astimezone(tz) - timedelta(hours=ctx.request.day_start)
    today = local_midnight(local.date(), tz)
    end = today if window.end is None or window.end > today else window.end
    if start >= end:
        return None
    return Period(start, end)


def next_midnight(instant: datetime, tz: ZoneInfo) -> datetime:
    """``instant`` if it is a local midnight in ``tz``, else the next local midnight."""
    local = instant.astimezone(tz)
    if local.time() == time():
        return instant
    return local_midnight(local.date() + timedelta(days=1), tz)


def pick_occupancy(periods: Sequence[Period], window: Period | None) -> Period | None:
    """The occupancy period that overlaps ``window`` latest, else the latest one (R8)."""
    if not periods:
        return None
    ordered = sorted(periods, key=lambda p: p.start)
    if window is not None:
        overlapping = [p for p in ordered if p.intersection(window) is not None]
        if overlapping:
            return overlapping[-1]
    return ordered[-1]

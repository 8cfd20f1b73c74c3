"""Did a served access fall inside its consent? Judged from signed consent records alone.

Pure (standard library and the pure vocabulary module): the offline verifier and the bundle
summary use it, so the auditor's tool and Passerelle's own summary apply the same rule.

A consent is *active* from a record whose ``state`` is ``active`` (from ``max(at,
valid_from)``) until the next record or ``valid_until``, whichever comes first. A served access
is inside the consent when, at its instant, the consent is active and the active record's
scope covers it (R6, R8, R12): same tenant and recipient, point and dataset listed, resolution
not finer than ``max_resolution``, and for series a window starting no earlier than ``data_from``
nor more than ``history_days`` before the access (a record read, such as a contract, has no
window). A served access without a recipient is the household reading its own data: no
consent is needed, none is judged. A read under a mandate instead of a consent is judged against
the mandate's records; a community aggregate (R4) is judged through its members' own reads.

A consent whose record says ``view: community`` (R4, :mod:`consent.community_consent`) releases
its points only into the aggregate of its community: a served access under it is inside only
if the access names that ``community_id`` (one member's part of that sum). A point read on its
own, or for another community's sum, is outside. Records without ``view`` (signed before
records carried it) are individual consents, as every consent then was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from consent.errors import UnknownVocabulary
from consent.evidence.canonical import EncodingError, format_instant, parse_instant
from consent.purposes import ConsentView
from consent.vocabulary import Resolution


@dataclass(frozen=True, slots=True)
class Scope:
    """A record's scope, parsed once so that judging 100,000 accesses stays cheap."""

    tenant: Any
    recipient_id: Any
    points: frozenset[str]
    datasets: frozenset[str]
    finest: timedelta | None
    data_from: datetime | None
    history: timedelta | None
    #: A community consent (R4): its points only inside the aggregate of ``community``
    #: (``None`` if it names none: then nowhere). ``False`` for an individual one, a mandate.
    community_view: bool = False
    community: str | None = None

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Scope:
        scope = record["scope"]
        days = scope.get("history_days")
        recipient = record.get("recipient")  # a mandate names a mandatary, not a recipient
        view = record.get("view", INDIVIDUAL_VIEW) == COMMUNITY_VIEW
        return cls(record.get("tenant"), recipient["id"] if recipient else None,
                   frozenset(scope["points"]),
                   frozenset(scope["datasets"]), _nominal(scope.get("max_resolution")),
                   parse_instant(str(scope["data_from"])) if scope.get("data_from") else None,
                   None if days is None else timedelta(days=int(days)), view,
                   record.get("community_id") if view else None)


@dataclass(frozen=True, slots=True)
class ActivePeriod:
    """``[start, end)`` during which ``record`` (a consent record's JSON) governed access."""

    start: datetime
    end: datetime
    record: Mapping[str, Any]
    scope: Scope


def _at(record: Mapping[str, Any]) -> datetime:
    return parse_instant(str(record["at"]))


_OPEN_END = datetime.max.replace(tzinfo=UTC)


def _until(record: Mapping[str, Any]) -> datetime:
    """``valid_until``, or no end (a standing mandate, R11)."""
    value = record.get("valid_until")
    return _OPEN_END if value is None else parse_instant(str(value))


_NOMINAL: dict[str, timedelta] = {}


def _nominal(resolution: str | None) -> timedelta | None:
    """Nominal length of a resolution (cached: the same few strings repeat)."""
    if not resolution:
        return None
    found = _NOMINAL.get(resolution)
    if found is None:
        found = _NOMINAL[resolution] = Resolution.parse(resolution).nominal
    return found


class ConsentTimeline:
    """The active periods of one consent, or of one mandate, from its records (any order).

    A read under a mandate (R10, R11: a mandatary's app reading without a consent of its own) is
    judged against the mandate's records the same way, without the recipient check: a mandate
    names the mandatary organisation, whose app the data path has already matched.
    """

    def __init__(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.records = sorted(records, key=lambda r: (_at(r), int(r.get("version", 0))))
        self.periods: list[ActivePeriod] = []
        for i, record in enumerate(self.records):
            if record.get("state") != "active":
                continue
            start = max(_at(record), parse_instant(str(record["valid_from"])))
            end = _until(record)
            if i + 1 < len(self.records):
                end = min(end, _at(self.records[i + 1]))
            if start < end:
                self.periods.append(ActivePeriod(start, end, record, Scope.of(record)))

    def state_at(self, instant: datetime) -> str:
        """The consent's state at ``instant`` (``not yet requested`` before its first record)."""
        state = "not yet requested"
        for record in self.records:
            if _at(record) > instant:
                break
            state = str(record.get("state"))
            if state == "active" and instant >= _until(record):
                state = "expired (past valid_until)"
        return state

    def check(self, access: Mapping[str, Any]) -> str | None:
        """``None`` if the served ``access`` is inside the consent, else why not."""
        try:
            at = parse_instant(str(access["at"]))
            for period in self.periods:
                if period.start <= at < period.end:
                    return _outside_scope(access, period.scope, at)
            return f"served at {format_instant(at)} while the consent was {self.state_at(at)}"
        except (KeyError, TypeError, EncodingError, UnknownVocabulary) as exc:
            return f"access or record is malformed: {exc}"


def _outside_scope(access: Mapping[str, Any], scope: Scope, at: datetime) -> str | None:
    if access.get("tenant") != scope.tenant:
        return f"served in tenant {access.get('tenant')}, the consent is of another tenant"
    if scope.recipient_id is not None and access.get("recipient_id") != scope.recipient_id:
        return (f"served to recipient {access.get('recipient_id')}, the consent is for "
                f"{scope.recipient_id}")
    if access.get("point") not in scope.points:
        return f"point {access.get('point')} is not in the consent"
    if access.get("dataset") not in scope.datasets:
        return f"dataset {access.get('dataset')} is not in the consent"
    if scope.community_view and (scope.community is None
                                 or access.get("community_id") != scope.community):
        return _outside_community(scope.community, access.get("community_id"))
    asked = _nominal(access.get("resolution"))
    if asked is not None and scope.finest is not None and asked < scope.finest:
        return f"resolution {access.get('resolution')} is finer than the consent allows"
    window = access.get("window")
    if window is None:  # a record (contract, identity...): no data window to judge
        return None
    start, end = parse_instant(str(window["start"])), parse_instant(str(window["end"]))
    if not start < end:
        return "the data window is empty or reversed"
    if scope.data_from is not None and start < scope.data_from:
        return f"data from {format_instant(start)} is before the consent's data_from"
    if scope.history is not None and start < at - scope.history:
        return (f"data from {format_instant(start)} is older than the consent's "
                f"{scope.history.days} days of history")
    return None


def _outside_community(community: str | None, served_in: Any) -> str:
    """Why a read under a community consent of ``community`` was not one member's part of
    that community's aggregate (R4)."""
    if community is None:
        return "served under a community consent that names no community (R4)"
    where = ("on its own" if served_in is None
             else f"into the aggregate of community {served_in}")
    return (f"point served {where}; the consent releases it only inside the aggregate of "
            f"community {community} (R4)")


@dataclass
class AccessTally:
    """Counts of one consent's accesses, and the served ones found outside it."""

    served: int = 0
    denied: int = 0  # every access not served: denied, invalid or failed
    pruned: int = 0
    first: str | None = None
    last: str | None = None
    datasets: dict[str, int] = field(default_factory=dict)
    outside: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)

    def add(self, index: int, access: Mapping[str, Any],
            timeline: ConsentTimeline | None) -> str | None:
        """Count ``access`` (entry ``index``); return why it is outside its consent, if so."""
        at = str(access.get("at"))
        self.first = at if self.first is None or at < self.first else self.first
        self.last = at if self.last is None or at > self.last else self.last
        if access.get("outcome") != "served":
            self.denied += 1
            return None
        self.served += 1
        dataset = str(access.get("dataset") or LISTING)
        self.datasets[dataset] = self.datasets.get(dataset, 0) + 1
        if dataset == LISTING:  # the points or consents a token may read: no meter data
            return None
        if not access.get("recipient_id"):  # the household's own read: no third party
            return None
        if not access.get("consent_id") and str(access.get("point")).startswith(COMMUNITY):
            return None  # a k-member aggregate: each member's read is an access of its own
        if timeline is None:
            problem: str | None = ("served under no consent or mandate whose records are in "
                                   "the bundle")
        else:
            problem = timeline.check(access)
        if problem is not None:
            self.outside += 1
            if len(self.examples) < MAX_EXAMPLES:
                self.examples.append((index, problem))
        return problem


MAX_EXAMPLES = 20
#: A consent record's ``view`` (R4, the consent's own :class:`ConsentView`); a record without
#: one is individual.
INDIVIDUAL_VIEW, COMMUNITY_VIEW = ConsentView.INDIVIDUAL.value, ConsentView.COMMUNITY.value
VIEWS = frozenset(view.value for view in ConsentView)
#: What a served access without a dataset is counted as: a listing, no meter data released.
LISTING = "listing"
#: The point of a community aggregate (R4): the sum over at least k members, each member's read
#: evidenced and judged on its own.
COMMUNITY = "community:"

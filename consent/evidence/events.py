"""What goes into the evidence log: one :class:`LogEvent` per fact (R16).

A log event has a *kind*, an instant, a JSON *payload* (canonicalised, hashed, kept until
retention prunes it, R17), the *references* used to select it for a bundle (tenant, consent,
household, recipient, mandate: opaque ids, kept in the leaf itself so they survive pruning) and
optionally a *chain*: the events of one consent (or mandate) carry consecutive sequence numbers,
so a bundle that drops one of them shows a gap.

Kinds and payloads (docs/evidence-format.md §Log entries):

==================  ============================================================================
``consent.record``  a signed consent record envelope (:mod:`consent.evidence.signing`)
``mandate.record``  a signed mandate record envelope
``access``          a data access: :class:`AccessEvent` (served or denied, R6, R16)
``admin``           an operator action: :class:`AdminEvent`
``audit.export``    a proof bundle was exported (selection, manifest hash, who)
``audit.export.refused``  an export was refused: a checkpoint size asked for is not held
``key.rotated``     the signing key changed (new public key, its opening instant)
``retention``       payloads were pruned; counts kept as an aggregate (R17)
==================  ============================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from consent.evidence.canonical import JSON, format_instant
from consent.evidence.coverage import COMMUNITY
from consent.evidence.errors import InvalidRecord

CONSENT_RECORD = "consent.record"
MANDATE_RECORD = "mandate.record"
ACCESS = "access"
ADMIN = "admin"
AUDIT_EXPORT = "audit.export"
AUDIT_EXPORT_REFUSED = "audit.export.refused"
KEY_ROTATED = "key.rotated"
RETENTION = "retention"
#: The kinds retention may prune (usage traces and their counts, R17), and the least time an
#: entry keeps its payload: signed records, key rotations and exports are never pruned.
PRUNABLE = frozenset({ACCESS, RETENTION})
MIN_DETAIL_DAYS = 31

SERVED = "served"
DENIED = "denied"
INVALID = "invalid"
FAILED = "failed"
OUTCOMES = (SERVED, DENIED, INVALID, FAILED)


@dataclass(frozen=True, slots=True)
class Refs:
    """References an event is selected by (copied into indexed columns)."""

    tenant: str | None = None
    consent_id: str | None = None
    household_id: str | None = None
    recipient_id: str | None = None
    mandate_id: str | None = None

    def to_json(self) -> dict[str, str]:
        """The non-empty references, as they appear in the leaf."""
        return {name: value for name in REF_NAMES if (value := getattr(self, name)) is not None}


REF_NAMES = ("tenant", "consent_id", "household_id", "recipient_id", "mandate_id")

@dataclass(frozen=True, slots=True)
class LogEvent:
    """One fact to append to the log."""

    kind: str
    at: datetime
    payload: Mapping[str, JSON]
    refs: Refs = field(default_factory=Refs)
    chain: str | None = None


def consent_chain(consent_id: str) -> str:
    """The chain of one consent's records and accesses."""
    return f"consent:{consent_id}"


def mandate_chain(mandate_id: str) -> str:
    """The chain of one mandate's records."""
    return f"mandate:{mandate_id}"


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One request of a recipient for data, served or not (R16, issue 4: who, what, when,
    under which consent, what was sent, what it cost upstream).

    ``outcome`` is ``served``, ``denied`` (a consent rule, the token or a rate limit said no:
    ``rule`` names it), ``invalid`` (the request itself was malformed) or ``failed`` (the
    upstream or Passerelle could not serve it); ``reason`` is the detail given.

    A served read of data by a recipient names its point, dataset, (for series) its half-open
    window, and its consent or the mandate it was read under (R10, R11), unless it is a
    community aggregate (R4). A served request without a dataset is a listing (the points or
    consents a token may read); one without a recipient is the household reading its own data
    on its page (no consent is involved). A refused one names what it could (a request without
    a valid token names nobody). ``body_sha256`` is the SHA-256 of the exact body bytes sent,
    ``values`` how many values they held (in the summary of one address's requests refused in
    one minute, rule ``address limit``: how many requests it stands for),
    ``upstream_calls``/``cache_days`` what it cost the DSO, ``upstream`` which calls were
    made. ``community_id`` names the community whose aggregate the read was one member's part
    of (R4): the answer went into that sum, never out on its own; ``None``, the point was read
    on its own (events written before it existed do not say).
    """

    at: datetime
    tenant: str
    outcome: str
    recipient_id: str | None = None
    point: str | None = None
    dataset: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    consent_id: str | None = None
    household_id: str | None = None
    mandate_id: str | None = None
    resolution: str | None = None
    rule: str | None = None
    reason: str | None = None
    token_id: str | None = None
    request_id: str | None = None
    api: str | None = None
    route: str | None = None
    status: int | None = None
    values: int | None = None
    body_sha256: str | None = None
    upstream_calls: int | None = None
    cache_days: int | None = None
    upstream: tuple[str, ...] = ()
    community_id: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise InvalidRecord(f"An access outcome is one of {', '.join(OUTCOMES)}, not "
                                f"{self.outcome!r}.")
        if (self.outcome == SERVED and self.recipient_id and self.dataset
                and not (self.point and (self.consent_id or self.mandate_id
                                         or self.point.startswith(COMMUNITY)))):
            raise InvalidRecord("A served read of data must name its point, and its consent "
                                "or mandate.")
        if (self.window_start is None) != (self.window_end is None):
            raise InvalidRecord("An access window has both ends or none.")

    def to_log_event(self) -> LogEvent:
        payload: dict[str, Any] = {"tenant": self.tenant, "outcome": self.outcome,
                                   "at": format_instant(self.at)}
        if self.window_start is not None and self.window_end is not None:
            payload["window"] = {"start": format_instant(self.window_start),
                                 "end": format_instant(self.window_end)}
        optional = {"recipient_id": self.recipient_id, "point": self.point,
                    "dataset": self.dataset, "consent_id": self.consent_id,
                    "household_id": self.household_id, "mandate_id": self.mandate_id,
                    "resolution": self.resolution,
                    "rule": self.rule, "reason": self.reason, "token_id": self.token_id,
                    "request_id": self.request_id, "api": self.api, "route": self.route,
                    "status": self.status, "values": self.values,
                    "body_sha256": self.body_sha256, "upstream_calls": self.upstream_calls,
                    "cache_days": self.cache_days, "community_id": self.community_id}
        payload.update({k: v for k, v in optional.items() if v is not None})
        if self.upstream:
            payload["upstream"] = list(self.upstream)
        refs = Refs(self.tenant, self.consent_id, self.household_id, self.recipient_id,
                    self.mandate_id)
        chain = (consent_chain(self.consent_id) if self.consent_id
                 else mandate_chain(self.mandate_id) if self.mandate_id else None)
        return LogEvent(ACCESS, self.at, payload, refs, chain)


@dataclass(frozen=True, slots=True)
class AdminEvent:
    """An operator or auditor action worth tracing (R16, R19): who did what to which object.

    ``refs`` selects the event into the bundles of the objects it touched.
    """

    at: datetime
    actor: str
    action: str
    refs: Refs = field(default_factory=Refs)
    target: str | None = None
    details: Mapping[str, JSON] = field(default_factory=dict)

    def to_log_event(self) -> LogEvent:
        payload: dict[str, Any] = {"actor": self.actor, "action": self.action,
                                   "at": format_instant(self.at), "details": dict(self.details)}
        if self.target is not None:
            payload["target"] = self.target
        return LogEvent(ADMIN, self.at, payload, self.refs)

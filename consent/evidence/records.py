"""The signed record schema: what a consent or mandate change showed and who made it (R2, R5,
R15, R18; GDPR art. 7(1) "able to demonstrate" consent).

Every transition of a consent or mandate (request, grant, renew, suspend, resume, revoke,
withdraw, expire, refuse, submit, approve) produces one record: a full snapshot of the object
after the change, so each record can be read alone. Field names follow the domain model
(consent/models); states and actions are the lifecycle's (consent/lifecycle.py) as text.

A consent record says which *view* the consent gives (R4, :mod:`consent.community_consent`):
``individual`` (the recipient reads each point on its own) or ``community`` (only inside the
aggregate of the community ``community_id``). Records signed before they carried the view have
neither member; a verifier reads them as individual, which every consent then was.

A record the household acted on (``grant``, ``renew``, ``withdraw`` by the subject or its
mandatary) must say what was shown (:class:`Notice`) and how the person was authenticated
(:class:`Authentication`); one without them is refused (:class:`InvalidRecord`). The JSON form
(:meth:`ConsentRecord.to_json`) is specified in docs/evidence-format.md §Records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from consent.evidence.canonical import EncodingError, format_instant, parse_instant
from consent.evidence.coverage import VIEWS
from consent.evidence.errors import InvalidRecord
from consent.evidence.events import (
    CONSENT_RECORD,
    MANDATE_RECORD,
    Refs,
    consent_chain,
    mandate_chain,
)

RECORD_VERSION = 1
_HOUSEHOLD_ACTIONS = frozenset({"grant", "renew", "withdraw"})
_HOUSEHOLD_ROLES = frozenset({"subject", "mandatary"})


def _instant(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


@dataclass(frozen=True, slots=True)
class Notice:
    """The consent text the person saw: its version, SHA-256 of the exact text, language."""

    version: str
    sha256: str
    language: str

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "sha256": self.sha256, "language": self.language}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notice:
        """Read :meth:`to_json` back (a missing member raises :class:`InvalidRecord`)."""
        try:
            return cls(str(data["version"]), str(data["sha256"]), str(data["language"]))
        except (KeyError, TypeError) as exc:
            raise InvalidRecord(f"A malformed notice: {exc!r}.") from None


@dataclass(frozen=True, slots=True)
class Authentication:
    """How the person acting was authenticated (R15): ``method`` such as ``franceconnect``,
    ``itsme``, ``password``, ``paper_signature``; ``subject`` is their identifier there."""

    method: str
    subject: str
    at: datetime
    provider: str | None = None
    level: str | None = None  # acr / eIDAS level of assurance, when the provider says

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "subject": self.subject, "at": format_instant(self.at),
                "provider": self.provider, "level": self.level}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Authentication:
        """Read :meth:`to_json` back (a missing member raises :class:`InvalidRecord`)."""
        try:
            return cls(str(data["method"]), str(data["subject"]),
                       parse_instant(str(data["at"])), data.get("provider"), data.get("level"))
        except (KeyError, TypeError, EncodingError) as exc:
            raise InvalidRecord(f"A malformed authentication: {exc!r}.") from None


@dataclass(frozen=True, slots=True)
class RecipientTerms:
    """The recipient as registered when the record was made (R5, R21)."""

    recipient_id: str
    name: str
    data_role: str  # controller | processor
    purposes: tuple[str, ...]
    legal_basis: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.recipient_id, "name": self.name, "data_role": self.data_role,
                "purposes": list(self.purposes), "legal_basis": self.legal_basis}


@dataclass(frozen=True, slots=True)
class Scope:
    """What may be read (R6, R8, R12): points (``source:identifier``), datasets, the finest
    resolution, and how far back (``data_from``, ``history_days`` before each read)."""

    points: tuple[str, ...]
    datasets: tuple[str, ...]
    max_resolution: str | None = None
    data_from: datetime | None = None
    history_days: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"points": sorted(self.points), "datasets": sorted(self.datasets),
                "max_resolution": self.max_resolution, "data_from": _instant(self.data_from),
                "history_days": self.history_days}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made the change, in which role, through which channel (R19)."""

    role: str  # subject | mandatary | recipient | operator | reviewer | system
    channel: str  # web | api | cli | paper | phone | upstream | system
    party_id: str | None = None
    account_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "channel": self.channel, "party_id": self.party_id,
                "account_id": self.account_id}


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A proof document (R2) backing the object, with its review state at record time."""

    document_id: str
    kind: str
    media_type: str
    sha256: str
    size: int
    review_state: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.document_id, "kind": self.kind, "media_type": self.media_type,
                "sha256": self.sha256, "size": self.size, "review_state": self.review_state}


def _check_household_evidence(action: str, actor: Actor, notice: Notice | None,
                              authentication: Authentication | None) -> None:
    if action in _HOUSEHOLD_ACTIONS and actor.role in _HOUSEHOLD_ROLES:
        if authentication is None:
            raise InvalidRecord(f"A {action} by the {actor.role} must say how they were "
                                "authenticated.")
        if notice is None and action != "withdraw":
            raise InvalidRecord(f"A {action} must say which consent text was shown.")


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One consent change (log kind ``consent.record``, chain ``consent:<id>``)."""

    TYPE: ClassVar[str] = "consent"

    tenant: str
    consent_id: str
    version: int
    action: str
    state: str
    at: datetime
    household_id: str
    recipient: RecipientTerms
    purpose: str
    legal_basis: str
    scope: Scope
    valid_from: datetime
    valid_until: datetime
    actor: Actor
    notice: Notice | None = None
    authentication: Authentication | None = None
    mandate_id: str | None = None
    arrangement_id: str | None = None
    supersedes_id: str | None = None
    reason: str = ""
    documents: tuple[DocumentRef, ...] = ()
    view: str = "individual"
    community_id: str | None = None

    def __post_init__(self) -> None:
        _check_household_evidence(self.action, self.actor, self.notice, self.authentication)
        if not self.valid_from < self.valid_until:
            raise InvalidRecord("A consent's validity must end after it starts.")
        if self.view not in VIEWS:
            raise InvalidRecord(f"A consent's view is one of {', '.join(sorted(VIEWS))}, not "
                                f"{self.view!r}.")

    kind = CONSENT_RECORD

    @property
    def chain(self) -> str:
        return consent_chain(self.consent_id)

    @property
    def refs(self) -> Refs:
        return Refs(self.tenant, self.consent_id, self.household_id,
                    self.recipient.recipient_id, self.mandate_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.TYPE, "v": RECORD_VERSION, "tenant": self.tenant,
            "consent_id": self.consent_id, "version": self.version, "action": self.action,
            "state": self.state, "at": format_instant(self.at),
            "household_id": self.household_id, "recipient": self.recipient.to_json(),
            "purpose": self.purpose, "legal_basis": self.legal_basis,
            "scope": self.scope.to_json(), "valid_from": format_instant(self.valid_from),
            "valid_until": format_instant(self.valid_until), "actor": self.actor.to_json(),
            "notice": None if self.notice is None else self.notice.to_json(),
            "authentication": (None if self.authentication is None
                               else self.authentication.to_json()),
            "mandate_id": self.mandate_id, "arrangement_id": self.arrangement_id,
            "supersedes_id": self.supersedes_id, "reason": self.reason,
            "documents": [d.to_json() for d in self.documents],
            "view": self.view, "community_id": self.community_id,
        }


@dataclass(frozen=True, slots=True)
class MandateRecord:
    """One mandate change (log kind ``mandate.record``, chain ``mandate:<id>``): a mandatary
    (relative, social services R11, PMO organiser R4, supplier R10) acts for a household."""

    TYPE: ClassVar[str] = "mandate"

    tenant: str
    mandate_id: str
    version: int
    action: str
    state: str
    at: datetime
    household_id: str
    mandatary_id: str
    mandatary_kind: str
    purpose: str
    scope: Scope
    valid_from: datetime
    valid_until: datetime | None
    actor: Actor
    notice: Notice | None = None
    authentication: Authentication | None = None
    reason: str = ""
    documents: tuple[DocumentRef, ...] = ()

    def __post_init__(self) -> None:
        _check_household_evidence(self.action, self.actor, self.notice, self.authentication)

    kind = MANDATE_RECORD

    @property
    def chain(self) -> str:
        return mandate_chain(self.mandate_id)

    @property
    def refs(self) -> Refs:
        return Refs(self.tenant, None, self.household_id, None, self.mandate_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.TYPE, "v": RECORD_VERSION, "tenant": self.tenant,
            "mandate_id": self.mandate_id, "version": self.version, "action": self.action,
            "state": self.state, "at": format_instant(self.at),
            "household_id": self.household_id,
            "mandatary": {"id": self.mandatary_id, "kind": self.mandatary_kind},
            "purpose": self.purpose, "scope": self.scope.to_json(),
            "valid_from": format_instant(self.valid_from),
            "valid_until": _instant(self.valid_until), "actor": self.actor.to_json(),
            "notice": None if self.notice is None else self.notice.to_json(),
            "authentication": (None if self.authentication is None
                               else self.authentication.to_json()),
            "reason": self.reason, "documents": [d.to_json() for d in self.documents],
        }


Record = ConsentRecord | MandateRecord

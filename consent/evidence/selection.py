"""What a proof bundle covers: one consent, one household, one recipient, and/or one period.

Pure (standard library): the offline verifier imports this module. Criteria combine with AND;
``tenant`` scopes everything (R24: a regulator of one tenant never sees another's entries). The
period ``[start, end)`` bounds the instant of each entry. A bundle also carries *context*
entries outside the selection proper: the records of every consent and mandate its entries
refer to (to judge accesses against them) and the key rotations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent.evidence.canonical import EncodingError, format_instant, parse_instant
from consent.evidence.errors import InvalidSelection

CRITERIA = ("consent_id", "household_id", "recipient_id")


@dataclass(frozen=True, slots=True)
class Selection:
    """A bundle's selection; at least one of consent, household, recipient or period."""

    tenant: str | None = None
    consent_id: str | None = None
    household_id: str | None = None
    recipient_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if not any((self.consent_id, self.household_id, self.recipient_id, self.start,
                    self.end)):
            raise InvalidSelection(
                "Select a consent, a household, a recipient or a period.", field="selection")
        for bound in (self.start, self.end):
            if bound is not None and bound.tzinfo is None:
                raise InvalidSelection("Period bounds need a timezone.", field="period")
        if self.start is not None and self.end is not None and not self.start < self.end:
            raise InvalidSelection("The period must end after it starts.", field="period")

    @property
    def bounded(self) -> bool:
        """True if a period cuts the selection (chains may then be partial)."""
        return self.start is not None or self.end is not None

    def matches(self, refs: Mapping[str, Any], at: datetime) -> bool:
        """True if an entry with these leaf ``refs`` at instant ``at`` is selected."""
        for name, wanted in (("tenant", self.tenant), ("consent_id", self.consent_id),
                             ("household_id", self.household_id),
                             ("recipient_id", self.recipient_id)):
            if wanted is not None and refs.get(name) != wanted:
                return False
        if self.start is not None and at < self.start:
            return False
        return self.end is None or at < self.end

    def confines(self, refs: Mapping[str, Any]) -> bool:
        """True if a *context* record with these leaf ``refs`` may be in this selection's
        bundle: of the selection's tenant (R24), and of its household when both name one. An
        entry selected for one tenant or household may cite another's consent (an auditor's
        query naming it, say): that record stays out."""
        if self.tenant is not None and refs.get("tenant") != self.tenant:
            return False
        household = refs.get("household_id")
        return self.household_id is None or household is None or household == self.household_id

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant, "consent_id": self.consent_id,
            "household_id": self.household_id, "recipient_id": self.recipient_id,
            "from": None if self.start is None else format_instant(self.start),
            "to": None if self.end is None else format_instant(self.end),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Selection:
        try:
            return cls(
                data.get("tenant"), data.get("consent_id"), data.get("household_id"),
                data.get("recipient_id"),
                None if data.get("from") is None else parse_instant(str(data["from"])),
                None if data.get("to") is None else parse_instant(str(data["to"])))
        except EncodingError as exc:
            raise InvalidSelection(f"Malformed selection: {exc}") from exc

    def describe(self) -> str:
        """One line for people."""
        parts = [f"{name.removesuffix('_id')} {value}" for name in CRITERIA
                 if (value := getattr(self, name)) is not None]
        if self.bounded:
            start = "the beginning" if self.start is None else format_instant(self.start)
            end = "now" if self.end is None else format_instant(self.end)
            parts.append(f"from {start} to {end}")
        if self.tenant is not None:
            parts.append(f"(tenant {self.tenant})")
        return ", ".join(parts)

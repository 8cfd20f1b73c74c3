"""Why a recipient reads meter data, on which legal ground, in which GDPR role (R5, R21).

A recipient declares a subset of :class:`Purpose`; every consent names exactly one of them, and
the public register (R21) prints the descriptions below. Legal bases are those of GDPR
Art. 6(1); a consent records the basis the recipient declared, so an auditor sees both.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from consent.errors import UnknownVocabulary


class Purpose(StrEnum):
    """The purposes a recipient may declare (DPV-style categories, one sentence each)."""

    ENERGY_MONITORING = "energy_monitoring"
    ENERGY_ADVICE = "energy_advice"
    SOLAR_ASSESSMENT = "solar_assessment"
    COLLECTIVE_SELF_CONSUMPTION = "collective_self_consumption"
    SUPPLY_CONTRACT = "supply_contract"
    SOCIAL_SUPPORT = "social_support"
    RESEARCH = "research"

    @property
    def description(self) -> str:
        """The sentence shown to households and in the public register."""
        return _PURPOSES[self]

    @classmethod
    def parse(cls, value: str) -> Purpose:
        """Return the purpose named ``value`` or raise :class:`UnknownVocabulary`."""
        return _parse(cls, value, "purpose")


_PURPOSES = {
    Purpose.ENERGY_MONITORING: "Show the household its own consumption and production.",
    Purpose.ENERGY_ADVICE: "Advise the household on how to use less energy or pay less.",
    Purpose.SOLAR_ASSESSMENT: "Size or assess a solar installation for the household.",
    Purpose.COLLECTIVE_SELF_CONSUMPTION:
        "Share energy within a collective self-consumption operation (R4).",
    Purpose.SUPPLY_CONTRACT: "Bill and manage the household's supply contract (R13).",
    Purpose.SOCIAL_SUPPORT: "Support a household assisted by social services (R11).",
    Purpose.RESEARCH: "Statistical research on pseudonymised data (R22).",
}


class LegalBasis(StrEnum):
    """GDPR Art. 6(1) lawful bases, (a) to (f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"

    @classmethod
    def parse(cls, value: str) -> LegalBasis:
        """Return the legal basis named ``value`` or raise :class:`UnknownVocabulary`."""
        return _parse(cls, value, "legal_basis")


class DataRole(StrEnum):
    """The recipient's GDPR role for the data it receives (R5)."""

    CONTROLLER = "controller"
    PROCESSOR = "processor"

    @classmethod
    def parse(cls, value: str) -> DataRole:
        """Return the role named ``value`` or raise :class:`UnknownVocabulary`."""
        return _parse(cls, value, "data_role")


class ConsentView(StrEnum):
    """What a consent lets its recipient do with the points' data (R4,
    :mod:`consent.community_consent`): read each point on its own (``individual``, every
    consent before R4's distinction), or use it only inside one community's aggregate
    (``community``)."""

    INDIVIDUAL = "individual"
    COMMUNITY = "community"

    @classmethod
    def parse(cls, value: str) -> ConsentView:
        """Return the view named ``value`` or raise :class:`UnknownVocabulary`."""
        return _parse(cls, value, "view")


E = TypeVar("E", bound=StrEnum)


def _parse(enum: type[E], value: str, field: str) -> E:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise UnknownVocabulary(
            f"Unknown {field.replace('_', ' ')} {value!r}; known values are: {known}.",
            field=field,
        ) from None

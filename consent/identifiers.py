"""Metering-point identifiers, validated per source (R1, domain.md "Identifiers").

A :class:`PointRef` is the only way the rest of Passerelle names a metering point: a source
and an identifier that passed that source's format check. Parsing is strict (no trimming of
inner spaces, no guessing of the source): an identifier that does not match raises
:class:`~consent.errors.InvalidIdentifier` with a sentence a person understands.

========  ==================================  ================================================
source    name                                format
========  ==================================  ================================================
enedis    PRM / PDL (``usage_point_id``)      14 digits
grdf      PCE                                 14 digits, or ``GI`` + 6 digits (older points)
be_ean    EAN (GSRN)                          18 digits, starts ``54``, GS1 mod-10 check digit
inhouse   in-house DSO point                  an EAN as above (the operator is the DSO)
========  ==================================  ================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from consent.errors import InvalidIdentifier, UnknownVocabulary


class Source(StrEnum):
    """Where a metering point's data comes from: one adapter per source."""

    ENEDIS = "enedis"
    GRDF = "grdf"
    BE_EAN = "be_ean"
    INHOUSE = "inhouse"

    @classmethod
    def parse(cls, value: str) -> Source:
        """Return the source named ``value`` or raise :class:`UnknownVocabulary`."""
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(s.value for s in cls)
            raise UnknownVocabulary(
                f"Unknown source {value!r}; known sources are: {known}.", field="source"
            ) from None


_PRM = re.compile(r"[0-9]{14}")
_PCE = re.compile(r"[0-9]{14}|GI[0-9]{6}")
_EAN = re.compile(r"54[0-9]{16}")


def gs1_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of ``body`` (all digits but the last).

    Weights alternate 3, 1, 3... starting from the rightmost digit of the body (GS1 General
    Specifications §7.9.1).
    """
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _check_ean(identifier: str) -> None:
    if not _EAN.fullmatch(identifier):
        raise InvalidIdentifier(
            f"{identifier!r} is not a Belgian EAN: expected 18 digits starting with 54.",
            field="point_id",
        )
    expected = gs1_check_digit(identifier[:-1])
    if int(identifier[-1]) != expected:
        raise InvalidIdentifier(
            f"{identifier!r} has a wrong check digit: expected {expected} at the end.",
            field="point_id",
        )


def validate_identifier(source: Source, identifier: str) -> str:
    """Return ``identifier`` if it is valid for ``source``; raise :class:`InvalidIdentifier`."""
    if not isinstance(identifier, str):
        raise InvalidIdentifier("A metering-point identifier must be text.", field="point_id")
    if source is Source.ENEDIS:
        if not _PRM.fullmatch(identifier):
            raise InvalidIdentifier(
                f"{identifier!r} is not an Enedis PRM: expected exactly 14 digits.",
                field="point_id",
            )
    elif source is Source.GRDF:
        if not _PCE.fullmatch(identifier):
            raise InvalidIdentifier(
                f"{identifier!r} is not a GRDF PCE: expected 14 digits, or GI followed by 6 "
                f"digits.",
                field="point_id",
            )
    else:
        _check_ean(identifier)
    return identifier


@dataclass(frozen=True, slots=True, order=True)
class PointRef:
    """A validated reference to one metering point: ``source`` + ``identifier``.

    Its text form is ``"{source}:{identifier}"`` (for example ``enedis:22516914714270``), which
    is what URLs and records carry when the source is not implied.
    """

    source: Source
    identifier: str

    def __post_init__(self) -> None:
        validate_identifier(self.source, self.identifier)

    @classmethod
    def parse(cls, text: str) -> PointRef:
        """Parse ``"source:identifier"``; raise a domain error naming what is wrong."""
        source, sep, identifier = text.partition(":")
        if not sep:
            raise InvalidIdentifier(
                f"{text!r} does not name a source: write it as source:identifier, "
                "for example enedis:22516914714270.",
                field="point_id",
            )
        return cls(Source.parse(source), identifier)

    def __str__(self) -> str:
        return f"{self.source.value}:{self.identifier}"


def guess_source(identifier: str) -> Source | None:
    """The single source whose format ``identifier`` matches, or ``None`` if zero or several.

    A 14-digit number is both a PRM and a PCE, and an 18-digit EAN both a ``be_ean`` and an
    ``inhouse`` point (an in-house DSO names its points by EAN): each is ambiguous on its own.
    Guessing ``be_ean`` sent an app's request for its in-house point to a point no consent
    covers, and the refusal named the wrong rule.
    """
    if identifier.startswith("GI") and _PCE.fullmatch(identifier):
        return Source.GRDF
    return None

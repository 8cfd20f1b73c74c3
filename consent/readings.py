"""The normalised shape of meter data, the same for every source (R1).

Adapters produce :class:`Series` and :class:`Record`; the proxy cuts them to a consent's view and
serialises them. Interval bounds are timezone-aware; values are :class:`~decimal.Decimal` so that
nothing is lost between the DSO's strings and the recipient's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

from consent.identifiers import PointRef
from consent.vocabulary import Dataset, Resolution


class Quality(StrEnum):
    """How far a value can be trusted (Enedis BRUT/BEST, ADICT Provisoire/Définitive...)."""

    RAW = "raw"
    VALIDATED = "validated"
    ESTIMATED = "estimated"


@dataclass(frozen=True, slots=True)
class Reading:
    """One value over ``[start, end)``."""

    start: datetime
    end: datetime
    value: Decimal
    quality: Quality = Quality.RAW

    def __post_init__(self) -> None:
        start, end = self.start, self.end
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("reading bounds must be timezone-aware")
        # Compare in UTC: datetimes sharing one ZoneInfo compare by wall time, which puts
        # 02:30+02:00 after 02:00+01:00 on the night clocks go back. Python compares by UTC
        # offset already when the two zones are different objects, and wall time is right
        # under one fixed offset (what a DSO's "+02:00" decodes to): convert only otherwise.
        if start.tzinfo is end.tzinfo and type(start.tzinfo) is not timezone:
            start, end = start.astimezone(UTC), end.astimezone(UTC)
        if not start < end:
            raise ValueError("a reading's end must be after its start")


@dataclass(frozen=True, slots=True)
class Series:
    """Readings of one dataset of one point, ordered by start, without overlap."""

    point: PointRef
    dataset: Dataset
    unit: str
    resolution: Resolution
    timezone: str
    readings: tuple[Reading, ...]

    def to_json(self) -> dict[str, Any]:
        """The native API's JSON shape (documented in the OpenAPI document)."""
        return {
            "point": str(self.point),
            "dataset": self.dataset.value,
            "unit": self.unit,
            "resolution": self.resolution.value,
            "timezone": self.timezone,
            "values": [
                {
                    "start": r.start.isoformat(),
                    "end": r.end.isoformat(),
                    "value": format(r.value, "f"),
                    "quality": r.quality.value,
                }
                for r in self.readings
            ],
        }


@dataclass(frozen=True, slots=True)
class Record:
    """A customer or contract record of one point: named fields, text or ``None``."""

    point: PointRef
    dataset: Dataset
    fields: dict[str, str | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"point": str(self.point), "dataset": self.dataset.value, "fields": self.fields}

"""The community dataset of a collective self-consumption operation (PMO, R4).

A community aggregate is the sum, interval by interval, of the members' series that the
organiser may read (each under the member's own consent, already cut to that consent's view).
So that no household can be inferred, it is served only when the included series come from
at least ``k`` distinct households, and an interval is published only when at least ``k``
households have a value for it: otherwise :class:`~consent.errors.AccessDenied` names the rule
``R4 community k``. Households, not points, are counted: a household taking part with two
points would otherwise count twice, and five points of two households would publish what two
households used.

Only additive datasets aggregate meaningfully: energy (sums) and mean power (the community's
mean power is the sum of its members'). Peaks, registers and records are refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from consent.errors import AccessDenied, DomainError
from consent.readings import Quality, Reading, Series
from consent.vocabulary import Aggregate, Dataset, Resolution

RULE = "R4 community k"
ADDITIVE = frozenset({Aggregate.SUM, Aggregate.AVERAGE})
_TRUST = {Quality.VALIDATED: 0, Quality.RAW: 1, Quality.ESTIMATED: 2}


def check_additive(dataset: Dataset) -> None:
    """Refuse a dataset whose values cannot be added across households."""
    if dataset.spec.aggregate not in ADDITIVE:
        raise DomainError(f"{dataset.value} cannot be aggregated over a community (only "
                          "energy and mean power can).", field="dataset")


@dataclass(frozen=True, slots=True)
class CommunitySeries:
    """The aggregate: how many households (``members``) it includes and the summed readings."""

    community_id: str
    dataset: Dataset
    unit: str
    resolution: Resolution
    timezone: str
    members: int
    readings: tuple[Reading, ...]

    def to_json(self) -> dict[str, Any]:
        """The native API's shape for a community dataset."""
        return {
            "community": self.community_id, "dataset": self.dataset.value, "unit": self.unit,
            "resolution": self.resolution.value, "timezone": self.timezone,
            "members": self.members,
            "values": [{"start": r.start.isoformat(), "end": r.end.isoformat(),
                        "value": format(r.value, "f"), "quality": r.quality.value}
                       for r in self.readings],
        }


def aggregate(community_id: str, dataset: Dataset, resolution: Resolution, timezone: str,
              members: Sequence[tuple[str, Series]], k: int) -> CommunitySeries:
    """Sum ``members`` ((household id, series) per included point, every series at
    ``resolution``); see the module docstring for the k rule."""
    check_additive(dataset)
    if k < 1:
        raise ValueError("k is at least 1")
    households = {household for household, _ in members}
    if len(households) < k:
        raise AccessDenied(
            f"Only {len(households)} household(s) can be included; a community dataset needs "
            f"at least {k} so that no household can be inferred (R4).", rule=RULE,
            allowed={"min_members": k})
    if any(s.resolution is not resolution or s.dataset is not dataset for _, s in members):
        raise DomainError("Every member series must have the same dataset and resolution.",
                          field="resolution")
    buckets: dict[tuple[datetime, datetime], list[tuple[str, Reading]]] = defaultdict(list)
    for household, series in members:
        for reading in series.readings:
            buckets[(reading.start.astimezone(UTC), reading.end.astimezone(UTC))].append(
                (household, reading))
    zone = ZoneInfo(timezone)
    readings = tuple(
        Reading(start.astimezone(zone), end.astimezone(zone),
                sum((r.value for _, r in group), Decimal(0)),
                max((r.quality for _, r in group), key=_TRUST.__getitem__))
        for (start, end), group in sorted(buckets.items())
        if len({household for household, _ in group}) >= k)
    return CommunitySeries(community_id, dataset, members[0][1].unit, resolution, timezone,
                           len(households), readings)

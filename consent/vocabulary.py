"""The dataset vocabulary shared by every source (R1, R6, R12).

One place names what can be read about a metering point, in which unit, at which resolutions.
Adapters translate their DSO's wire names into these terms; consents, scopes and tokens speak
only these terms. ``docs/datasets.md`` is generated from this module's tables (see
:func:`describe`), so the documentation cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from consent.errors import UnknownVocabulary
from consent.periods import years_before

#: The local hour the gas day starts at (:attr:`Energy.day_start`).
GAS_DAY_START = 6


class Energy(StrEnum):
    """What flows through the point."""

    ELECTRICITY = "electricity"
    GAS = "gas"

    @property
    def day_start(self) -> int:
        """The local hour its metering day starts at: 06:00 for gas (the gas day, ADICT's
        ``journee_gaziere`` from 06:00 to 06:00: reference §2.4), midnight for electricity."""
        return GAS_DAY_START if self is Energy.GAS else 0


class Direction(StrEnum):
    """Seen from the household: drawn from the grid, or injected into it."""

    CONSUMPTION = "consumption"
    PRODUCTION = "production"


class Resolution(StrEnum):
    """Length of one interval, as an ISO 8601 duration.

    Ordered from finest to coarsest: :meth:`finer_than` compares by nominal length (a month
    counts 31 days, a year 366 for ordering purposes only; aggregation uses the calendar).
    """

    PT10M = "PT10M"
    PT15M = "PT15M"
    PT30M = "PT30M"
    PT1H = "PT1H"
    P1D = "P1D"
    P1W = "P1W"
    P1M = "P1M"
    P1Y = "P1Y"

    @property
    def nominal(self) -> timedelta:
        """Nominal length, for ordering and for fixed-length (sub-daily) steps."""
        return _NOMINAL[self]

    @property
    def is_calendar(self) -> bool:
        """True for day and longer: boundaries follow the local calendar, not a fixed step."""
        return self.nominal >= timedelta(days=1)

    def finer_than(self, other: Resolution) -> bool:
        """True if this resolution reveals more detail than ``other``."""
        return self.nominal < other.nominal

    @classmethod
    def parse(cls, value: str) -> Resolution:
        """Parse an ISO 8601 duration among the known ones (``PT60M`` is read as ``PT1H``)."""
        if value == "PT60M":
            return cls.PT1H
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(r.value for r in cls)
            raise UnknownVocabulary(
                f"Unknown resolution {value!r}; known resolutions are: {known}.",
                field="resolution",
            ) from None


_NOMINAL = {
    Resolution.PT10M: timedelta(minutes=10),
    Resolution.PT15M: timedelta(minutes=15),
    Resolution.PT30M: timedelta(minutes=30),
    Resolution.PT1H: timedelta(hours=1),
    Resolution.P1D: timedelta(days=1),
    Resolution.P1W: timedelta(weeks=1),
    Resolution.P1M: timedelta(days=31),
    Resolution.P1Y: timedelta(days=366),
}


class Aggregate(StrEnum):
    """How one interval's value summarises what happened in it."""

    SUM = "sum"  # energy over the interval
    AVERAGE = "average"  # mean power over the interval
    MAXIMUM = "maximum"  # peak power within the interval
    REGISTER = "register"  # cumulative index read at the interval's end
    RECORD = "record"  # not a series: a customer or contract record


class Dataset(StrEnum):
    """Everything a recipient can ask for about a point. One scope per dataset (OAuth issue)."""

    DAILY_CONSUMPTION = "daily_consumption"
    CONSUMPTION_LOAD_CURVE = "consumption_load_curve"
    DAILY_MAX_POWER = "daily_max_power"
    DAILY_PRODUCTION = "daily_production"
    PRODUCTION_LOAD_CURVE = "production_load_curve"
    CONSUMPTION_INDEX = "consumption_index"
    PRODUCTION_INDEX = "production_index"
    CONTRACT = "contract"
    IDENTITY = "identity"
    CONTACT = "contact"
    ADDRESS = "address"

    @classmethod
    def parse(cls, value: str) -> Dataset:
        """Return the dataset named ``value`` or raise :class:`UnknownVocabulary`."""
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(d.value for d in cls)
            raise UnknownVocabulary(
                f"Unknown dataset {value!r}; known datasets are: {known}.", field="dataset"
            ) from None

    @property
    def spec(self) -> DatasetSpec:
        """The dataset's unit, aggregate, resolutions and fields."""
        return DATASETS[self]


#: Every dataset's name: what scopes, consents and query parameters may hold.
DATASET_NAMES = frozenset(d.value for d in Dataset)


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """What one dataset is.

    ``resolutions`` lists the resolutions a source may deliver natively, finest first;
    ``coarsest`` daily-or-longer aggregates can always be derived from them when the aggregate
    allows it. ``fields`` lists the record fields for record datasets: a consent may release a
    subset of them (R6). ``sensitive`` marks datasets that R12 allows only with an explicit
    consent (sub-daily data, identity and contact).
    """

    dataset: Dataset
    title: str
    unit: str | None
    aggregate: Aggregate
    energies: frozenset[Energy]
    direction: Direction | None
    resolutions: tuple[Resolution, ...]
    fields: tuple[str, ...] = ()
    sensitive: bool = False

    @property
    def is_series(self) -> bool:
        """True for time series, False for records."""
        return self.aggregate is not Aggregate.RECORD

    @property
    def finest(self) -> Resolution | None:
        """Finest native resolution, or ``None`` for a record."""
        return self.resolutions[0] if self.resolutions else None

    def metered_by(self, energy: Energy, directions: Collection[str]) -> bool:
        """True if a point of ``energy`` metering ``directions`` can have this dataset (a gas
        point has no maximum power, a consumer's point no production; records belong to every
        point). The one test of it: listings, forms and grant checks all ask here."""
        return energy in self.energies and (self.direction is None
                                            or self.direction.value in directions)

    def can_aggregate_to(self, resolution: Resolution) -> bool:
        """True if values at ``resolution`` can be derived from the native ones.

        Energy sums and maxima roll up to any coarser calendar resolution; a mean power curve
        rolls up to a coarser mean; a register is read at the end of the coarser interval.
        """
        if not self.is_series:
            return False
        finest = self.finest
        assert finest is not None
        return resolution in self.resolutions or not resolution.finer_than(finest)


_BOTH = frozenset({Energy.ELECTRICITY, Energy.GAS})
_ELEC = frozenset({Energy.ELECTRICITY})
_CURVE = (Resolution.PT10M, Resolution.PT15M, Resolution.PT30M, Resolution.PT1H)

DATASETS: dict[Dataset, DatasetSpec] = {
    spec.dataset: spec
    for spec in (
        DatasetSpec(Dataset.DAILY_CONSUMPTION, "Daily consumed energy", "Wh", Aggregate.SUM,
                    _BOTH, Direction.CONSUMPTION, (Resolution.P1D,)),
        DatasetSpec(Dataset.CONSUMPTION_LOAD_CURVE,
                    "Consumption load curve (mean power per interval; hourly for gas)", "W",
                    Aggregate.AVERAGE, _BOTH, Direction.CONSUMPTION, _CURVE, sensitive=True),
        DatasetSpec(Dataset.DAILY_MAX_POWER, "Daily maximum apparent power", "VA",
                    Aggregate.MAXIMUM, _ELEC, Direction.CONSUMPTION, (Resolution.P1D,)),
        DatasetSpec(Dataset.DAILY_PRODUCTION, "Daily produced (injected) energy", "Wh",
                    Aggregate.SUM, _BOTH, Direction.PRODUCTION, (Resolution.P1D,)),
        DatasetSpec(Dataset.PRODUCTION_LOAD_CURVE, "Production load curve (mean power)", "W",
                    Aggregate.AVERAGE, _ELEC, Direction.PRODUCTION, _CURVE, sensitive=True),
        DatasetSpec(Dataset.CONSUMPTION_INDEX, "Consumption register index, daily", "Wh",
                    Aggregate.REGISTER, _BOTH, Direction.CONSUMPTION, (Resolution.P1D,)),
        DatasetSpec(Dataset.PRODUCTION_INDEX, "Production register index, daily", "Wh",
                    Aggregate.REGISTER, _ELEC, Direction.PRODUCTION, (Resolution.P1D,)),
        DatasetSpec(Dataset.CONTRACT, "Supply and grid contract", None, Aggregate.RECORD, _BOTH,
                    None, (), fields=("segment", "subscribed_power", "tariff", "offpeak_hours",
                                      "contract_status", "supplier", "last_activation_date",
                                      "meter_type")),
        DatasetSpec(Dataset.IDENTITY, "Customer identity", None, Aggregate.RECORD, _BOTH, None, (),
                    fields=("title", "firstname", "lastname", "legal_entity_name",
                            "siret_number"), sensitive=True),
        DatasetSpec(Dataset.CONTACT, "Customer contact data", None, Aggregate.RECORD, _BOTH, None,
                    (), fields=("email", "phone"), sensitive=True),
        DatasetSpec(Dataset.ADDRESS, "Address of the metering point", None, Aggregate.RECORD,
                    _BOTH, None, (), fields=("street", "postal_code", "city", "insee_code",
                                             "country")),
    )
}

#: R12: "at most three years of history on request": the longest a consent's history may be
#: written (a duration, whatever the leap days); what a request may reach is
#: :func:`history_floor`, three calendar years back.
MAX_HISTORY = timedelta(days=3 * 366)


def history_floor(at: datetime) -> datetime:
    """R12: the earliest instant a request made at ``at`` may reach: three calendar years
    before (``at - MAX_HISTORY`` reached a day or two further back)."""
    return years_before(at, 3)


def describe() -> str:
    """The dataset vocabulary as a Markdown table (source of ``docs/datasets.md``)."""
    lines = [
        "| dataset | title | unit | aggregate | energies | direction | resolutions | fields "
        "| explicit consent (R12) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for spec in DATASETS.values():
        lines.append(
            f"| `{spec.dataset.value}` | {spec.title} | {spec.unit or '-'} | "
            f"{spec.aggregate.value} | {', '.join(sorted(e.value for e in spec.energies))} | "
            f"{spec.direction.value if spec.direction else '-'} | "
            f"{', '.join(r.value for r in spec.resolutions) or '-'} | "
            f"{', '.join(spec.fields) or '-'} | {'yes' if spec.sensitive else 'no'} |"
        )
    return "\n".join(lines) + "\n"


DOC_HEADER = """# Dataset vocabulary

Every source (Enedis, GRDF, Belgian EAN DSOs, the in-house DSO API, the simulator) is read through
these datasets. Scopes, consents, tokens and the native API speak only these names; adapters
translate their DSO's wire names into them. Resolutions are ISO 8601 durations; a consent names
the finest resolution it allows, and coarser values are aggregated on local calendar boundaries.
"Explicit consent (R12)" marks what may only be released under an explicit consent (sub-daily
curves, identity and contact data).

This table is generated from `consent/vocabulary.py`
(`python -m consent.vocabulary > docs/datasets.md`); `tests/test_docs_in_sync.py` fails when
they differ.

"""


if __name__ == "__main__":  # pragma: no cover
    print(DOC_HEADER + describe(), end="")

"""The extension point: :class:`MeterDataAdapter`, what Passerelle asks of any DSO.

One adapter per upstream (Enedis Data Connect, GRDF ADICT, the in-house DSO API, the built-in
simulator). Each one answers in the normalised vocabulary of :mod:`consent` (R1) and raises only
the tree of :mod:`adapters.errors`; the shared contract suite in ``tests/contract/`` holds every
adapter to the same answers.

Contract common to every method:

* Points are :class:`~consent.identifiers.PointRef`; a point the DSO does not know raises
  :class:`~adapters.errors.UnknownPoint`.
* Periods are half-open ``[start, end)`` of aware instants. A reading belongs to a period when
  its *start* lies in it (so a gas day starting 06:00 belongs to its calendar date). Adapters are
  strict: a period not covered by :attr:`DatasetAvailability.period` raises a
  :class:`~adapters.errors.PeriodNotServed` subclass naming the available period; callers clip
  with :meth:`MeterDataAdapter.describe` first. Data is published up to D-1 (local day).
* A period of any length inside the available one is accepted: the adapter splits it into as
  many upstream calls as the DSO's per-call window needs (:attr:`DatasetLimits.max_window`).
* Values are :class:`~decimal.Decimal`, never floats; timestamps are aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from adapters.errors import UnsupportedDataset
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.readings import Record, Series
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Direction, Energy, Resolution


@dataclass(frozen=True, slots=True)
class UpstreamAuthorisation:
    """The operator's authorisation at the DSO for one point (R9: when it ends, consents stop).

    ``state`` is the one vocabulary of :class:`~consent.upstream.UpstreamState` (its table maps
    each DSO's states); ``upstream_id`` is the DSO's id for it; ``upstream_state`` keeps the
    DSO's own word (``ACTIF``, ``A revérifier``...) for evidence.
    """

    point: PointRef
    state: UpstreamState
    upstream_id: str
    validity: Period | None
    upstream_state: str | None = None


@dataclass(frozen=True, slots=True)
class Occupancy:
    """One occupant of a point over ``period`` (R8). ``customer`` is an opaque DSO reference."""

    customer: str
    period: Period


class PortState(StrEnum):
    """State of the meter's customer port (P1 / TIC), R20."""

    OPEN = "open"
    CLOSED = "closed"


class PortAction(StrEnum):
    """What a household may ask of its meter's port."""

    OPEN = "open"
    CLOSE = "close"

    @property
    def target(self) -> PortState:
        """The port state the action leads to."""
        return PortState.OPEN if self is PortAction.OPEN else PortState.CLOSED


class PortRequestStatus(StrEnum):
    """Where an open/close request stands at the DSO."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PortStatus:
    """The port's current state and, if one is running, the pending request's id."""

    point: PointRef
    state: PortState
    pending_request: str | None = None


@dataclass(frozen=True, slots=True)
class PortRequest:
    """One open/close request as the DSO tracks it."""

    request_id: str
    point: PointRef
    action: PortAction
    status: PortRequestStatus
    requested_at: datetime
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DatasetAvailability:
    """What one point offers for one dataset right now.

    ``period`` is what :meth:`MeterDataAdapter.series` accepts today (history depth, meter
    commissioning, current occupant's move-in, D-1); ``None`` for a record dataset.
    """

    dataset: Dataset
    resolutions: tuple[Resolution, ...]
    period: Period | None


@dataclass(frozen=True, slots=True)
class PointInfo:
    """A point as the DSO sees it: energy, directions, local timezone, available datasets."""

    point: PointRef
    energy: Energy
    directions: frozenset[Direction]
    timezone: str
    datasets: tuple[DatasetAvailability, ...]

    def availability(self, dataset: Dataset) -> DatasetAvailability:
        """The availability of ``dataset``; :class:`UnsupportedDataset` if the point lacks it."""
        for item in self.datasets:
            if item.dataset is dataset:
                return item
        raise UnsupportedDataset(
            f"{dataset.value} is not available for {self.point}.", dataset=dataset.value
        )


@dataclass(frozen=True, slots=True)
class Quota:
    """A request quota the adapter must respect: ``requests`` per ``per``, shared by ``scope``.

    ``scope`` is ``"application"`` (all calls of the operator) or ``"api"`` (each upstream API
    separately, as Data Connect 2026 counts). A shared limiter is built from these.
    """

    requests: int
    per: timedelta
    scope: str = "application"


@dataclass(frozen=True, slots=True)
class DatasetLimits:
    """Static limits of one dataset at this upstream.

    ``max_window`` is the longest period one upstream call may cover (``None``: unlimited); the
    adapter splits longer periods itself, so this serves quota planning. ``history`` is how far
    back from today the DSO serves the dataset.
    """

    dataset: Dataset
    energies: frozenset[Energy]
    resolutions: tuple[Resolution, ...]
    max_window: timedelta | None
    history: timedelta | None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an adapter can do at all, independent of any point.

    ``raw_final`` says whether the DSO's raw values of a past day stay as they are, or are
    provisional and may be replaced later (GRDF "Provisoire", replaced by "Définitive" at the
    meter's publication; Enedis "BRUT", replaced by "BEST" once corrected): the day cache keeps
    the latter only a while. An adapter that cannot tell says ``False``.
    """

    name: str
    sources: frozenset[Source]
    datasets: tuple[DatasetLimits, ...]
    quotas: tuple[Quota, ...]
    meter_port: bool
    raw_final: bool = True

    def limits(self, dataset: Dataset) -> DatasetLimits:
        """The limits of ``dataset``; :class:`UnsupportedDataset` if the upstream lacks it."""
        for item in self.datasets:
            if item.dataset is dataset:
                return item
        raise UnsupportedDataset(f"{self.name} does not offer {dataset.value}.",
                                 dataset=dataset.value)


class HealthState(StrEnum):
    """Coarse health of an upstream, for readiness checks and dashboards."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Health:
    """Result of one health probe; ``detail`` never carries a secret."""

    state: HealthState
    detail: str
    checked_at: datetime


@runtime_checkable
class MeterDataAdapter(Protocol):
    """What Passerelle asks of a DSO. See the module docstring for the common contract."""

    async def capabilities(self) -> Capabilities:
        """Sources, datasets, resolutions, per-call windows, history depth, quotas, port."""
        ...

    async def describe(self, point: PointRef) -> PointInfo:
        """The point's energy, directions, timezone and what each dataset covers today."""
        ...

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        """Readings of ``dataset`` at native ``resolution`` whose start lies in ``period``.

        Raises :class:`UnsupportedDataset` / :class:`UnsupportedResolution` for what the point
        lacks, :class:`PeriodNotServed` subclasses outside :attr:`DatasetAvailability.period`,
        :class:`UpstreamDenied` without an active authorisation, :class:`NoData` when nothing
        was measured.
        """
        ...

    async def record(self, point: PointRef, dataset: Dataset) -> Record:
        """The current occupant's contract, identity, contact or address record."""
        ...

    async def authorisation(self, point: PointRef) -> UpstreamAuthorisation | None:
        """The operator's authorisation for the point; ``None`` when the DSO knows none."""
        ...

    async def occupancy(self, point: PointRef) -> tuple[Occupancy, ...]:
        """Who occupied the point over which periods, oldest first, without overlap."""
        ...

    async def port_state(self, point: PointRef) -> PortStatus:
        """The meter port's state; :class:`Unsupported` where the DSO offers no port."""
        ...

    async def request_port(self, point: PointRef, action: PortAction) -> PortRequest:
        """Ask the DSO to open or close the port; completes later (poll :meth:`port_request`)."""
        ...

    async def port_request(self, point: PointRef, request_id: str) -> PortRequest:
        """Status of an earlier port request; :class:`~consent.errors.NotFound` if unknown."""
        ...

    async def health(self) -> Health:
        """Probe the upstream; never raises."""
        ...


@runtime_checkable
class MeterNumberCheck(Protocol):
    """Optional capability of a DSO that is also the operator (in-house, simulator): check the
    number printed on a point's meter, which only its occupant can read (R15: the meter number
    proves occupancy). The DSO answers yes or no; it never discloses the number."""

    async def check_meter_number(self, point: PointRef, meter_number: str) -> bool:
        """True if ``meter_number`` (spaces ignored) is the number of ``point``'s meter."""
        ...


@runtime_checkable
class UpstreamConsentFlow(Protocol):
    """Optional capability of a DSO with its own consent page (Enedis Data Connect, GRDF
    ADICT): the household consents there to the operator reading its points, and the DSO sends
    the browser back with a code. Which points were consented is learnt by redeeming that code
    server to server, never from the redirect's query (which the browser could change)."""

    def consent_url(self, *, state: str, redirect_uri: str) -> str:
        """Where to send the household's browser (``state`` comes back unchanged)."""
        ...

    async def redeem(self, code: str, *, redirect_uri: str) -> tuple[PointRef, ...]:
        """The points the household consented to, for this single-use ``code``."""
        ...

"""The built-in simulated DSO: deterministic, realistic data for any number of points.

:class:`Simulator` is plain synchronous Python with an injected :class:`~consent.clock.Clock`.
It behaves like a strict DSO: it serves a point's data only to an operator holding an active
authorisation, only from the current occupant's move-in (R8), only within its history depth and
only up to D-1. Both the in-process adapter and the in-house HTTP server wrap one instance.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from adapters.base import (
    Capabilities,
    DatasetAvailability,
    Occupancy,
    PointInfo,
    PortAction,
    PortRequest,
    PortStatus,
    UpstreamAuthorisation,
)
from adapters.errors import (
    NoData,
    NotYetAvailable,
    UnknownPoint,
    Unsupported,
    UnsupportedDataset,
    UnsupportedResolution,
    UpstreamDenied,
)
from adapters.simulator import catalogue
from adapters.simulator.curves import GAS_DAY_START, HouseholdModel
from adapters.simulator.faults import FaultPlan
from adapters.simulator.port import PortDesk
from adapters.simulator.profiles import PointProfile, derive_profile, is_reserved_unknown
from adapters.simulator.records import build_record
from adapters.simulator.series import readings
from adapters.simulator.timegrid import day_of, local_midnight
from adapters.simulator.weather import mix
from consent.clock import Clock, SystemClock
from consent.identifiers import PointRef
from consent.periods import Period
from consent.readings import Record, Series
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Direction, Energy, Resolution


class Simulator:
    """A simulated DSO serving every point it has a profile for (or can derive one for).

    ``port_delay`` is how long an open/close request of the meter port takes to complete;
    ``faults`` is the plan both front-ends (in-process, HTTP) draw from per data request.
    """

    def __init__(self, clock: Clock | None = None, profiles: Iterable[PointProfile] = (), *,
                 port_delay: timedelta = timedelta(minutes=2), seed: int = 0,
                 derive_unknown: bool = True) -> None:
        self.clock = clock or SystemClock()
        self.faults = FaultPlan(seed)
        self._derive = derive_unknown
        self._profiles: dict[PointRef, PointProfile] = {}
        self._models: dict[PointRef, HouseholdModel] = {}
        self._authorisations: dict[PointRef, UpstreamState] = {}
        self._port = PortDesk(self.clock, port_delay, seed)
        for profile in profiles:
            self.add(profile)

    # ---- registry ------------------------------------------------------------------------

    def add(self, profile: PointProfile) -> None:
        """Register (or replace) the profile of ``profile.point``."""
        self._profiles[profile.point] = profile
        self._models.pop(profile.point, None)

    def profile(self, point: PointRef) -> PointProfile:
        """The profile of ``point``; :class:`UnknownPoint` if the DSO does not know it."""
        profile = self._profiles.get(point)
        if profile is None:
            if not self._derive or is_reserved_unknown(point):
                raise UnknownPoint(f"The DSO does not know the point {point}.",
                                   point=str(point))
            profile = self._profiles[point] = derive_profile(point)
        return profile

    def set_authorisation(self, point: PointRef, state: UpstreamState | None) -> None:
        """Override (or with ``None`` restore) the operator's authorisation state for a point."""
        self.profile(point)
        if state is None:
            self._authorisations.pop(point, None)
        else:
            self._authorisations[point] = state

    def _model(self, profile: PointProfile) -> HouseholdModel:
        model = self._models.get(profile.point)
        if model is None:
            model = self._models[profile.point] = catalogue.household_model(profile)
        return model

    # ---- what is served ------------------------------------------------------------------

    def _today(self, profile: PointProfile) -> date:
        return day_of(profile.timezone, self.clock.now())

    def capabilities(self) -> Capabilities:
        """Every source and dataset, no per-call window, Enedis-like history, no quota."""
        return catalogue.capabilities()

    def _available(self, profile: PointProfile, dataset: Dataset) -> tuple[Period, str] | None:
        """The period served for ``dataset`` today and what bounds its start, or ``None``."""
        if not self.authorisation_state(profile.point).usable:
            return None
        return catalogue.served_period(profile, dataset, self._today(profile),
                                       self.clock.now())

    def describe(self, point: PointRef) -> PointInfo:
        """Energy, directions, timezone and today's availability of each dataset."""
        profile = self.profile(point)
        directions = {Direction.CONSUMPTION}
        if profile.has_production:
            directions.add(Direction.PRODUCTION)
        items = []
        for dataset, resolutions in catalogue.offered(profile).items():
            available = self._available(profile, dataset)
            items.append(DatasetAvailability(dataset, resolutions,
                                             available[0] if available else None))
        items += [DatasetAvailability(d, (), None) for d in catalogue.RECORDS]
        return PointInfo(point, profile.energy, frozenset(directions), profile.timezone,
                         tuple(items))

    def series(self, point: PointRef, dataset: Dataset, period: Period,
               resolution: Resolution) -> Series:
        """Readings of ``dataset`` whose start lies in ``period`` (see adapters.base)."""
        profile = self.profile(point)
        offered = catalogue.offered(profile)
        if dataset not in offered:
            raise UnsupportedDataset(f"{dataset.value} is not available for {point} "
                                     f"({profile.energy.value}).", dataset=dataset.value)
        if resolution not in offered[dataset]:
            raise UnsupportedResolution(
                f"{dataset.value} of {point} comes at {', '.join(offered[dataset])}, not "
                f"{resolution.value}.", allowed=list(offered[dataset]))
        self._require_holder(profile)
        served = self._available(profile, dataset)
        if served is None:
            raise NotYetAvailable(f"No day of {point} has been published since the move-in.")
        catalogue.check_period(period, *served)
        if dataset in catalogue.CURVES and not profile.load_curve_enabled:
            raise NoData(f"The load curve is not recorded for {point}.")
        start_hour = GAS_DAY_START if profile.energy is Energy.GAS else 0
        first = day_of(profile.timezone, period.start, start_hour)
        assert period.end is not None
        selected = readings(self._model(profile), profile.energy, dataset, resolution, first,
                            period.start.astimezone(UTC), period.end.astimezone(UTC))
        return Series(point, dataset, dataset.spec.unit or "", resolution, profile.timezone,
                      tuple(selected))

    # ---- authorisation, occupancy, records -----------------------------------------------

    def authorisation_state(self, point: PointRef) -> UpstreamState:
        """The state of the operator's authorisation for ``point``: the override if one is
        set, else active while someone occupies the point and ended once it is vacant (the
        fake DSO servers read it to shape their own answers)."""
        profile = self.profile(point)
        state = self._authorisations.get(point, profile.authorisation)
        if state is not None:
            return state
        occupant = profile.occupant_on(self._today(profile))
        return UpstreamState.ACTIVE if occupant else UpstreamState.ENDED

    def _require_holder(self, profile: PointProfile) -> None:
        if not self.authorisation_state(profile.point).usable:
            raise UpstreamDenied(f"The operator holds no active authorisation for "
                                 f"{profile.point}.")
        if profile.occupant_on(self._today(profile)) is None:
            raise UpstreamDenied(f"Nobody holds the point {profile.point} today.")

    def authorisation(self, point: PointRef) -> UpstreamAuthorisation | None:
        """The operator's authorisation: for the current (or, once vacant, the last) occupant;
        ``None`` before anyone has moved in."""
        profile = self.profile(point)
        state = self.authorisation_state(point)
        today = self._today(profile)
        holders = [o for o in profile.occupants if o.move_in <= today]
        if not holders:
            return None
        holder = holders[-1]
        validity = Period(local_midnight(profile.timezone, holder.move_in),
                          local_midnight(profile.timezone, holder.move_out)
                          if holder.move_out else None)
        upstream_id = f"AUT{mix(profile.seed, holder.move_in.toordinal()) % 10**9:09d}"
        return UpstreamAuthorisation(point, state, upstream_id, validity, state.value.upper())

    def occupancy(self, point: PointRef) -> tuple[Occupancy, ...]:
        """Every occupant that has moved in by today, oldest first."""
        profile = self.profile(point)
        today, zone = self._today(profile), profile.timezone
        return tuple(
            Occupancy(o.customer, Period(local_midnight(zone, o.move_in),
                                         local_midnight(zone, o.move_out) if o.move_out else None))
            for o in profile.occupants if o.move_in <= today)

    def record(self, point: PointRef, dataset: Dataset) -> Record:
        """The current occupant's record; only with an active authorisation (R8)."""
        profile = self.profile(point)
        if dataset not in catalogue.RECORDS:
            raise UnsupportedDataset(f"{dataset.value} is not a record dataset.",
                                     dataset=dataset.value)
        self._require_holder(profile)
        occupant = profile.occupant_on(self._today(profile))
        assert occupant is not None
        return Record(point, dataset, build_record(profile, occupant, dataset))

    # ---- meter port ----------------------------------------------------------------------

    def _port_profile(self, point: PointRef) -> PointProfile:
        profile = self.profile(point)
        if profile.energy is not Energy.ELECTRICITY:
            raise Unsupported(f"The meter of {point} has no customer port.")
        self._require_holder(profile)
        return profile

    def port_state(self, point: PointRef) -> PortStatus:
        """The port's current state."""
        return self._port.status(point, self._port_profile(point).port)

    def request_port(self, point: PointRef, action: PortAction) -> PortRequest:
        """File an open/close request; it completes after the simulator's ``port_delay``."""
        return self._port.request(point, self._port_profile(point).port, action)

    def port_request(self, point: PointRef, request_id: str) -> PortRequest:
        """An earlier request's status."""
        self._port_profile(point)
        return self._port.get(point, request_id)

    def check_meter_number(self, point: PointRef, meter_number: str) -> bool:
        """True if ``meter_number`` is printed on ``point``'s meter (R15; spaces ignored)."""
        typed = "".join(meter_number.split()).encode()
        return hmac.compare_digest(typed, self.profile(point).printed_number.encode())

    def now(self) -> datetime:
        """The simulator's current instant."""
        return self.clock.now()


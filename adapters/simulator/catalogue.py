"""What the simulated DSO serves: datasets and resolutions per point, history depth, the period
published today, and the numeric model of a point (all derived from its profile).

Pure functions over a :class:`~adapters.simulator.profiles.PointProfile`; the
:class:`~adapters.simulator.Simulator` adds the clock, the authorisation and the faults.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from adapters.base import Capabilities, DatasetLimits
from adapters.errors import BeforeMoveIn, BeyondHistory, NotYetAvailable
from adapters.simulator.curves import GAS_DAY_START, HouseholdModel
from adapters.simulator.profiles import CURVE_STEPS, PointProfile
from adapters.simulator.timegrid import day_of, local_midnight
from adapters.simulator.weather import mix, unit
from consent.identifiers import Source
from consent.periods import Period
from consent.vocabulary import Dataset, Energy, Resolution

#: Enedis: 24 months + 15 days for curves, 36 months + 15 days for daily values (section 1.4).
CURVE_HISTORY = timedelta(days=730 + 15)
DAILY_HISTORY = timedelta(days=1095 + 15)

_DAILY = (Resolution.P1D,)
_ELEC_CURVE = CURVE_STEPS
_GAS_CURVE = (Resolution.PT1H,)
RECORDS = (Dataset.CONTRACT, Dataset.IDENTITY, Dataset.CONTACT, Dataset.ADDRESS)
CURVES = (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE)


def offered(profile: PointProfile) -> dict[Dataset, tuple[Resolution, ...]]:
    """The series datasets of the point and the resolutions each comes at."""
    if profile.energy is Energy.GAS:
        return {Dataset.DAILY_CONSUMPTION: _DAILY, Dataset.CONSUMPTION_LOAD_CURVE: _GAS_CURVE,
                Dataset.CONSUMPTION_INDEX: _DAILY}
    steps = profile.curve_steps or _ELEC_CURVE
    served = {Dataset.DAILY_CONSUMPTION: _DAILY, Dataset.CONSUMPTION_LOAD_CURVE: steps,
              Dataset.DAILY_MAX_POWER: _DAILY, Dataset.CONSUMPTION_INDEX: _DAILY}
    if profile.has_production:
        served |= {Dataset.DAILY_PRODUCTION: _DAILY, Dataset.PRODUCTION_LOAD_CURVE: steps,
                   Dataset.PRODUCTION_INDEX: _DAILY}
    return served


def household_model(profile: PointProfile) -> HouseholdModel:
    """The numeric constants of ``profile`` (all derived from its seed and its settings)."""
    seed, scale = profile.seed, profile.scale
    if profile.energy is Energy.GAS:
        base, per_degree = 7.0 * scale, 5.5 * scale
    else:
        base = 2600 * scale / 365
        per_degree = (2.6 if profile.electric_heating else 0.15) * scale
    return HouseholdModel(
        seed=seed, zone=profile.timezone, commissioned=profile.commissioned,
        base_kwh_per_day=base, heating_kwh_per_degree=per_degree,
        water_heater_offpeak=profile.contract.offpeak_hours is not None, pv_kwc=profile.pv_kwc,
        power_factor=0.9 + 0.07 * unit(seed, 80), initial_index_wh=mix(seed, 81) % 5_000_000)


def capabilities() -> Capabilities:
    """Every source and dataset, no per-call window, Enedis-like history, no quota."""
    limits = []
    for dataset in Dataset:
        spec = dataset.spec
        resolutions = (_ELEC_CURVE if dataset in CURVES else _DAILY if spec.is_series else ())
        history = (CURVE_HISTORY if dataset in CURVES else DAILY_HISTORY if spec.is_series
                   else None)
        limits.append(DatasetLimits(dataset, spec.energies, resolutions, None, history))
    return Capabilities("simulator", frozenset(Source), tuple(limits), (), meter_port=True)


def served_period(profile: PointProfile, dataset: Dataset, today: date, now: datetime,
                  ) -> tuple[Period, str] | None:
    """The period published for ``dataset`` today and what bounds its start (history, meter,
    move-in), or ``None`` when nobody occupies the point or nothing is published yet. The
    caller checks the authorisation."""
    occupant = profile.occupant_on(today)
    if occupant is None:
        return None
    history = CURVE_HISTORY if dataset in CURVES else DAILY_HISTORY
    starts = [(today - history, "history"), (profile.commissioned, "meter"),
              (occupant.move_in, "move-in")]
    first, reason = max(starts, key=lambda s: s[0])
    if profile.energy is Energy.GAS:
        # Published up to the last complete gas day: the current one started at 06:00.
        current = day_of(profile.timezone, now, GAS_DAY_START)
        end = local_midnight(profile.timezone, current).replace(hour=GAS_DAY_START)
    else:
        end = local_midnight(profile.timezone, today)
    start = local_midnight(profile.timezone, first)
    if not start < end:
        return None
    return Period(start, end), reason


def check_period(period: Period, available: Period, bound: str) -> None:
    """Refuse a period outside the published one, naming it (and why it starts where it does)."""
    if period.end is None or available.end is None or period.end > available.end:
        raise NotYetAvailable(
            "The period ends after the last published day (data is published up to D-1).",
            available=available)
    if period.start < available.start:
        error = BeforeMoveIn if bound == "move-in" else BeyondHistory
        raise error(f"The period starts before {available.start.date().isoformat()}, the "
                    f"first day served ({bound}).", available=available)

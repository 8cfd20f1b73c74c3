"""The numbers: consumption, PV production and gas, consistent by construction.

Top-down: each day's energy (integer Wh) comes first, from the household's size, the weekday and
the day's weather; the day's curve then shares that energy among its slots with weights (daily
shape, heating, appliances, noise), rounding on the cumulative sum so the slots add up to the day
*exactly*. Electricity slots are 5 minutes of integer Wh, so every published resolution is an
exact sum of them: PT10M/PT15M/PT30M/PT1H mean powers are integers (6, 4, 2 and 1 times the Wh)
and the daily energy equals the sum of any of those curves. Register indexes accumulate the daily
energies from the meter's commissioning. Gas runs the same way on hourly slots of the gas day
(06:00 to 06:00 local).

Speed: per day, one seeded ``random.Random`` and list arithmetic over 288 slots; days are cached.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate

from adapters.simulator.timegrid import local_day
from adapters.simulator.weather import (
    CLIMATES,
    clear_sky_yield,
    clearness,
    daylight,
    heating_degrees,
    mix,
    unit,
)

STEP = 5  # minutes per electricity slot
GAS_STEP = 60
GAS_DAY_START = 6  # the gas day starts at 06:00 local (ADICT "journée gazière")
SLOTS = 1440 // STEP



@dataclass(frozen=True, slots=True)
class HouseholdModel:
    """The constants one point's numbers derive from (hashable: days are cached per model)."""

    seed: int
    zone: str
    commissioned: date
    base_kwh_per_day: float
    heating_kwh_per_degree: float
    water_heater_offpeak: bool
    pv_kwc: float
    power_factor: float
    initial_index_wh: int


def _bump(minute: float, centre_h: float, width_h: float) -> float:
    d = (minute / 60.0 - centre_h + 12.0) % 24.0 - 12.0
    return math.exp(-0.5 * (d / width_h) ** 2)


def _normalised(values: list[float]) -> tuple[float, ...]:
    total = sum(values)
    return tuple(v / total for v in values)


def _base_shape(weekend: bool, offpeak_heater: bool) -> tuple[float, ...]:
    """Daily shape of non-heating use per 5-min slot: baseload, morning, noon, evening peaks."""
    morning, noon = (9.0, 0.8) if weekend else (7.2, 0.35)
    shape = []
    for slot in range(SLOTS):
        m = slot * STEP + STEP / 2
        v = (0.45 + 1.0 * _bump(m, morning, 0.9) + noon * _bump(m, 12.7, 1.0)
             + 1.7 * _bump(m, 19.8, 1.5) - 0.2 * _bump(m, 3.5, 2.0))
        if offpeak_heater and (m >= 23.5 * 60 or m < 1.75 * 60):
            v += 4.0  # the hot-water tank switched on by the off-peak signal
        shape.append(v)
    return _normalised(shape)


def _heating_shape() -> tuple[float, ...]:
    """Heating: comfort in the morning and evening, set back at night and in the afternoon."""
    return _normalised([1.0 + 0.6 * _bump(s * STEP, 7.0, 1.3) + 0.5 * _bump(s * STEP, 19.5, 2.0)
                        - 0.35 * _bump(s * STEP, 3.0, 2.2) for s in range(SLOTS)])


_BASE = {(we, hc): _base_shape(we, hc) for we in (False, True) for hc in (False, True)}
_HEAT = _heating_shape()
_HOURS = [h * 60 + 30 for h in range(24)]
_GAS_HEAT = _normalised([1.0 + 0.8 * _bump(m, 7.0, 1.2) + 0.6 * _bump(m, 19.0, 1.8)
                         - 0.5 * _bump(m, 2.5, 2.0) for m in _HOURS])
_GAS_WATER = _normalised([0.2 + _bump(m, 7.5, 1.0) + 0.8 * _bump(m, 20.0, 1.3) for m in _HOURS])


def allocate(total: int, weights: list[float]) -> tuple[int, ...]:
    """Share ``total`` among slots in proportion to ``weights``; the parts sum to ``total``."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return (0,) * len(weights)
    cumulative = [round(total * (c / weight_sum)) for c in accumulate(weights)]
    cumulative[-1] = total  # float rounding must not move the day's total
    return tuple(b - a for a, b in zip([0, *cumulative[:-1]], cumulative, strict=True))


# ---- electricity consumption ---------------------------------------------------------------

def consumption_energy(model: HouseholdModel, day: date) -> int:
    """Energy drawn on ``day`` (local midnight to midnight), in Wh."""
    climate = CLIMATES[model.zone]
    doy = day.timetuple().tm_yday
    seasonal = 1.0 + 0.12 * math.cos(2 * math.pi * (doy - 15) / 365.25)  # lighting, indoor life
    weekend = 1.08 if day.weekday() >= 5 else 1.0
    noise = 0.88 + 0.24 * unit(model.seed, day.toordinal(), 1)
    base = model.base_kwh_per_day * seasonal * weekend * noise
    heating = model.heating_kwh_per_degree * heating_degrees(climate, day, 16.0)
    return round(1000 * (base + heating))


@lru_cache(maxsize=8192)
def consumption_slots(model: HouseholdModel, day: date) -> tuple[int, ...]:
    """Wh drawn in each 5-minute slot of ``day``; sums to :func:`consumption_energy`."""
    total = consumption_energy(model, day)
    climate = CLIMATES[model.zone]
    heat_wh = 1000 * model.heating_kwh_per_degree * heating_degrees(climate, day, 16.0)
    base_wh = max(total - heat_wh, 0.0)
    shape = _BASE[(day.weekday() >= 5, model.water_heater_offpeak)]
    minutes = local_day(model.zone, day).local_minutes(STEP)
    rng = random.Random(mix(model.seed, day.toordinal(), 2))
    rand = rng.random
    weights = [(base_wh * shape[m // STEP] + heat_wh * _HEAT[m // STEP]) * (0.7 + 0.6 * rand())
               for m in minutes]
    # Appliances (kettle, oven, washing machine): short blocks of 1.5 to 3 kW in waking hours.
    for _ in range(2 + rng.randrange(5)):
        start = rng.randrange(len(weights))
        if 6 * 60 <= minutes[start] < 23 * 60:
            watts = 1500 + 1500 * rand()
            for i in range(start, min(start + 1 + rng.randrange(4), len(weights))):
                weights[i] += watts * STEP / 60
    return allocate(total, weights)


# ---- electricity production (PV) -----------------------------------------------------------

def production_energy(model: HouseholdModel, day: date) -> int:
    """Energy injected on ``day`` by the point's PV array, in Wh."""
    climate = CLIMATES[model.zone]
    own = 0.95 + 0.1 * unit(model.seed, day.toordinal(), 3)  # soiling, shading, inverter
    return round(1000 * model.pv_kwc * clear_sky_yield(day) * clearness(climate, day) * own)


@lru_cache(maxsize=8192)
def production_slots(model: HouseholdModel, day: date) -> tuple[int, ...]:
    """Wh injected in each 5-minute slot: zero outside daylight, a cloudy bell inside it."""
    climate = CLIMATES[model.zone]
    sunrise, sunset = daylight(climate, day)
    span = sunset - sunrise
    grid = local_day(model.zone, day)
    first = grid.start.hour + grid.start.minute / 60  # UTC hour of the day's first slot
    variability = 1.0 - clearness(climate, day)
    rand = random.Random(mix(model.seed, day.toordinal(), 4)).random
    weights = []
    for i in range(grid.slot_count(STEP)):
        t = (first + (i + 0.5) * STEP / 60) % 24
        if sunrise < t < sunset:
            weights.append(math.sin(math.pi * (t - sunrise) / span) ** 1.4
                           * (1.0 - variability * rand()))
        else:
            weights.append(0.0)
    return allocate(production_energy(model, day), weights)


# ---- gas -------------------------------------------------------------------------------------

def gas_energy(model: HouseholdModel, day: date) -> int:
    """Gas used on the gas day ``day`` (06:00 local to 06:00 the next day), in Wh."""
    climate = CLIMATES[model.zone]
    doy = day.timetuple().tm_yday
    water = model.base_kwh_per_day * (1.0 + 0.2 * math.cos(2 * math.pi * (doy - 15) / 365.25))
    noise = 0.9 + 0.2 * unit(model.seed, day.toordinal(), 5)
    heating = model.heating_kwh_per_degree * heating_degrees(climate, day, 17.0)
    return round(1000 * (water * noise + heating))


@lru_cache(maxsize=8192)
def gas_slots(model: HouseholdModel, day: date) -> tuple[int, ...]:
    """Wh of gas in each hour of the gas day (23, 24 or 25 hours); sums to :func:`gas_energy`."""
    total = gas_energy(model, day)
    heat = model.heating_kwh_per_degree * heating_degrees(CLIMATES[model.zone], day, 17.0)
    water = max(total / 1000 - heat, 0.0)
    rand = random.Random(mix(model.seed, day.toordinal(), 6)).random
    minutes = local_day(model.zone, day, GAS_DAY_START).local_minutes(GAS_STEP)
    weights = [(heat * _GAS_HEAT[m // 60] + water * _GAS_WATER[m // 60]) * (0.8 + 0.4 * rand())
               for m in minutes]
    return allocate(total, weights)


EnergyFunction = Callable[["HouseholdModel", date], int]


# ---- derived values ------------------------------------------------------------------------

def sums(slots: tuple[int, ...], group: int) -> list[int]:
    """Sums of consecutive groups of ``group`` slots (the day's slot count is a multiple)."""
    it = iter(slots)
    if group == 1:
        return list(slots)
    return [sum(chunk) for chunk in zip(*([it] * group), strict=True)]


def max_apparent_power(model: HouseholdModel, day: date) -> int:
    """Daily maximum power in VA: the highest 10-minute mean power over the power factor."""
    peak_wh = max(sums(consumption_slots(model, day), 2))
    return math.ceil(peak_wh * 6 / model.power_factor)


class RegisterIndex:
    """Cumulative register of one model's daily energies, from its commissioning day.

    ``at_end_of(day)`` is the index read at the end of ``day``: the initial index plus every
    daily energy up to and including ``day``, so consecutive differences are the daily values.
    """

    def __init__(self, model: HouseholdModel, energy: EnergyFunction) -> None:
        self._model = model
        self._energy = energy
        self._cumulative: list[int] = [model.initial_index_wh]

    def at_end_of(self, day: date) -> int:
        """Index at the end of ``day`` (the initial index before commissioning)."""
        n = (day - self._model.commissioned).days + 1
        if n <= 0:
            return self._model.initial_index_wh
        cumulative = self._cumulative
        next_day = self._model.commissioned + timedelta(days=len(cumulative) - 1)
        while len(cumulative) <= n:
            cumulative.append(cumulative[-1] + self._energy(self._model, next_day))
            next_day += timedelta(days=1)
        return cumulative[n]


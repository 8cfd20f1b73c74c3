"""Turn the simulator's per-day numbers into :class:`~consent.readings.Reading` objects.

One function per dataset family; each yields the readings of whole metering days, in order.
The simulator then keeps those whose start lies in the requested period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from adapters.simulator.curves import (
    GAS_DAY_START,
    GAS_STEP,
    STEP,
    HouseholdModel,
    RegisterIndex,
    consumption_energy,
    consumption_slots,
    gas_energy,
    gas_slots,
    max_apparent_power,
    production_energy,
    production_slots,
    sums,
)
from adapters.simulator.timegrid import local_day
from consent.readings import Quality, Reading
from consent.vocabulary import Dataset, Energy, Resolution

#: Native sub-daily resolutions of electricity curves, in minutes (Enedis: PT10M to PT60M).
CURVE_MINUTES = {Resolution.PT10M: 10, Resolution.PT15M: 15, Resolution.PT30M: 30,
                 Resolution.PT1H: 60}

_RAW = Quality.RAW


def curve(model: HouseholdModel, days: Iterable[date], minutes: int,
          slots: Callable[[HouseholdModel, date], tuple[int, ...]],
          start_hour: int = 0, step: int = STEP) -> Iterator[Reading]:
    """Mean power (W) per ``minutes`` interval: the Wh of ``minutes / step`` slots, scaled."""
    group = minutes // step
    to_watts = 60 // minutes if minutes <= 60 else 1
    for day in days:
        instants = local_day(model.zone, day, start_hour).instants(minutes)
        for i, wh in enumerate(sums(slots(model, day), group)):
            yield Reading(instants[i], instants[i + 1], Decimal(wh * to_watts), _RAW)


def daily(model: HouseholdModel, days: Iterable[date], value: Callable[[HouseholdModel, date], int],
          start_hour: int = 0) -> Iterator[Reading]:
    """One reading per metering day, from ``start_hour`` local to the same hour the next day."""
    for day in days:
        start, end = local_day(model.zone, day, start_hour).bounds()
        yield Reading(start, end, Decimal(value(model, day)), _RAW)


@lru_cache(maxsize=64)
def register(model: HouseholdModel, dataset: Dataset, gas: bool) -> RegisterIndex:
    """The register of ``dataset`` (consumption or production index) of ``model``."""
    energy = (gas_energy if gas else production_energy if dataset is Dataset.PRODUCTION_INDEX
              else consumption_energy)
    return RegisterIndex(model, energy)


@lru_cache(maxsize=1024)
def day_readings(model: HouseholdModel, energy: Energy, dataset: Dataset, resolution: Resolution,
                 day: date) -> tuple[Reading, ...]:
    """Readings of ``dataset`` at ``resolution`` for the metering day ``day`` (cached)."""
    days = (day,)
    if energy is Energy.GAS:
        if dataset is Dataset.CONSUMPTION_LOAD_CURVE:
            return tuple(curve(model, days, 60, gas_slots, GAS_DAY_START, GAS_STEP))
        if dataset is Dataset.DAILY_CONSUMPTION:
            return tuple(daily(model, days, gas_energy, GAS_DAY_START))
        index = register(model, dataset, True)
        return tuple(daily(model, days, lambda _m, d: index.at_end_of(d), GAS_DAY_START))
    if dataset is Dataset.CONSUMPTION_LOAD_CURVE:
        return tuple(curve(model, days, CURVE_MINUTES[resolution], consumption_slots))
    if dataset is Dataset.PRODUCTION_LOAD_CURVE:
        return tuple(curve(model, days, CURVE_MINUTES[resolution], production_slots))
    if dataset is Dataset.DAILY_CONSUMPTION:
        return tuple(daily(model, days, consumption_energy))
    if dataset is Dataset.DAILY_PRODUCTION:
        return tuple(daily(model, days, production_energy))
    if dataset is Dataset.DAILY_MAX_POWER:
        return tuple(daily(model, days, max_apparent_power))
    index = register(model, dataset, False)
    return tuple(daily(model, days, lambda _m, d: index.at_end_of(d)))


def readings(model: HouseholdModel, energy: Energy, dataset: Dataset, resolution: Resolution,
             first: date, start: datetime, end: datetime) -> list[Reading]:
    """Readings whose start lies in ``[start, end)``, from the metering day ``first`` on."""
    out: list[Reading] = []
    day = first
    while True:
        chunk = day_readings(model, energy, dataset, resolution, day)
        day += timedelta(days=1)
        if not chunk:
            continue
        if chunk[-1].start < end and chunk[0].start >= start:
            out.extend(chunk)  # the whole day lies inside: no per-reading comparison
        else:
            out.extend(r for r in chunk if start <= r.start < end)
        if chunk[-1].start >= end:
            return out

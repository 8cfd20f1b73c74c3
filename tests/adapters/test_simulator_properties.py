"""Properties of the simulated data that must hold for every point and every day."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.simulator import Simulator, derive_profile
from adapters.simulator.catalogue import household_model
from adapters.simulator.curves import (
    allocate,
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
from consent.clock import FrozenClock
from consent.identifiers import PointRef, Source, gs1_check_digit
from consent.periods import Period
from consent.vocabulary import Dataset, Resolution

prms = st.from_regex(r"[0-9]{9}[0-8][0-9]{4}", fullmatch=True).map(
    lambda digits: PointRef(Source.ENEDIS, digits))
pces = st.from_regex(r"[0-9]{9}[0-8][0-9]{4}", fullmatch=True).map(
    lambda digits: PointRef(Source.GRDF, digits))
eans = st.from_regex(r"54[0-9]{10}[0-8][0-9]{4}", fullmatch=True).map(
    lambda body: PointRef(Source.INHOUSE, body + str(gs1_check_digit(body))))
days = st.dates(date(2022, 1, 1), date(2026, 12, 31))
# The two change days of 2025 and 2026 in Europe/Paris and Europe/Brussels, always worth a try.
dst_days = st.sampled_from([date(2025, 3, 30), date(2025, 10, 26), date(2026, 3, 29),
                            date(2026, 10, 25)])


@given(prms | eans, days | dst_days)
def test_the_day_is_the_sum_of_its_curve_at_every_resolution(point: PointRef, day: date) -> None:
    profile = derive_profile(point)
    if profile.energy.value == "gas":
        return
    model = household_model(profile)
    slots = consumption_slots(model, day)
    hours = (local_day(model.zone, day).end - local_day(model.zone, day).start) / timedelta(hours=1)
    assert len(slots) == hours * 12
    assert all(wh >= 0 for wh in slots)
    for minutes in (10, 15, 30, 60):
        watts = [wh * 60 // minutes for wh in sums(slots, minutes // 5)]
        assert sum(watts) * minutes / 60 == consumption_energy(model, day)


@given(prms, days | dst_days)
def test_max_power_is_consistent_with_the_curve(point: PointRef, day: date) -> None:
    model = household_model(derive_profile(point))
    ten_minute_watts = [wh * 6 for wh in sums(consumption_slots(model, day), 2)]
    va = max_apparent_power(model, day)
    assert va >= max(ten_minute_watts)  # apparent power is at least the active power
    assert va == math.ceil(max(ten_minute_watts) / model.power_factor)


@given(prms, days | dst_days)
def test_production_is_zero_at_night(point: PointRef, day: date) -> None:
    model = household_model(derive_profile(point, has_production=True))
    slots = production_slots(model, day)
    minutes = local_day(model.zone, day).local_minutes(5)
    night = [wh for wh, m in zip(slots, minutes, strict=True) if m >= 22 * 60 or m < 4 * 60]
    assert set(night) == {0}
    assert sum(slots) == production_energy(model, day)


@given(pces, days | dst_days)
def test_gas_hours_add_up_to_the_gas_day(point: PointRef, day: date) -> None:
    model = household_model(derive_profile(point))
    hours = gas_slots(model, day)
    assert len(hours) in (23, 24, 25)
    assert sum(hours) == gas_energy(model, day)


@given(st.integers(0, 10**7), st.lists(st.floats(0, 1e4), min_size=1, max_size=300))
def test_allocation_keeps_the_total(total: int, weights: list[float]) -> None:
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert all(p >= 0 for p in parts)
    assert sum(parts) == (total if sum(weights) > 0 else 0)


def _simulator() -> Simulator:
    return Simulator(FrozenClock(datetime(2026, 10, 15, 10, tzinfo=UTC)))


@settings(max_examples=25, deadline=None)
@given(prms, st.integers(2, 40))
def test_indexes_are_cumulative_daily_energies(point: PointRef, length: int) -> None:
    simulator = _simulator()
    available = simulator.describe(point).availability(Dataset.CONSUMPTION_INDEX).period
    if available is None or available.end is None:
        return
    start = max(available.start, available.end - timedelta(days=length))
    period = Period(start, available.end)
    index = simulator.series(point, Dataset.CONSUMPTION_INDEX, period, Resolution.P1D).readings
    daily = simulator.series(point, Dataset.DAILY_CONSUMPTION, period, Resolution.P1D).readings
    steps = [b.value - a.value for a, b in pairwise(index)]
    assert all(step >= 0 for step in steps)
    assert steps == [r.value for r in daily[1:]]


@settings(max_examples=20, deadline=None)
@given(prms | eans)
def test_same_point_same_numbers(point: PointRef) -> None:
    first, second = _simulator(), _simulator()
    info = first.describe(point)
    assert info == second.describe(point)
    available = info.availability(Dataset.DAILY_CONSUMPTION).period
    if available is None or available.end is None:
        return
    period = Period(max(available.start, available.end - timedelta(days=3)), available.end)
    assert first.series(point, Dataset.DAILY_CONSUMPTION, period, Resolution.P1D) == \
        second.series(point, Dataset.DAILY_CONSUMPTION, period, Resolution.P1D)
    assert first.occupancy(point) == second.occupancy(point)

"""The simulated households behave like households: shapes, seasons, weather, profiles, faults."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from statistics import mean

import pytest

from adapters.errors import UnknownPoint
from adapters.simulator import Fault, FaultKind, FaultPlan, Occupant, Simulator, derive_profile
from adapters.simulator.catalogue import household_model
from adapters.simulator.curves import consumption_energy, gas_energy, production_energy
from consent.clock import FrozenClock
from consent.errors import DomainError
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Energy, Resolution

PRM = PointRef(Source.ENEDIS, "22516914714270")
PCE = PointRef(Source.GRDF, "23000000000000")
SINCE_2015 = (Occupant("C1", date(2015, 1, 1)),)


def month(year: int, number: int) -> list[date]:
    first = date(year, number, 1)
    return [first + timedelta(days=k) for k in range(28)]


def simulator() -> Simulator:
    return Simulator(FrozenClock(datetime(2026, 10, 15, 10, tzinfo=UTC)), [
        derive_profile(PRM, occupants=SINCE_2015, commissioned=date(2017, 1, 1),
                       has_production=True, electric_heating=True),
        derive_profile(PCE, occupants=SINCE_2015, commissioned=date(2017, 1, 1)),
    ])


def test_heating_follows_the_seasons() -> None:
    heated = household_model(derive_profile(PRM, electric_heating=True))
    january = mean(consumption_energy(heated, d) for d in month(2026, 1))
    july = mean(consumption_energy(heated, d) for d in month(2025, 7))
    assert january > 2.5 * july
    gas = household_model(derive_profile(PCE))
    assert mean(gas_energy(gas, d) for d in month(2026, 1)) > \
        3 * mean(gas_energy(gas, d) for d in month(2025, 7))


def test_pv_follows_the_sun() -> None:
    model = household_model(derive_profile(PRM, has_production=True))
    june = mean(production_energy(model, d) for d in month(2026, 6))
    december = mean(production_energy(model, d) for d in month(2025, 12))
    assert june > 2.5 * december > 0


def test_evening_peak_and_night_trough() -> None:
    sim = simulator()
    start = datetime(2026, 9, 1, tzinfo=UTC)
    curve = sim.series(PRM, Dataset.CONSUMPTION_LOAD_CURVE,
                       Period(start, start + timedelta(days=28)), Resolution.PT1H).readings
    by_hour = {h: mean(float(r.value) for r in curve if r.start.hour == h) for h in range(24)}
    assert by_hour[19] > 1.5 * by_hour[3]
    weekday_8 = mean(r.value for r in curve if r.start.hour == 7 and r.start.weekday() < 5)
    weekend_8 = mean(r.value for r in curve if r.start.hour == 7 and r.start.weekday() >= 5)
    assert weekday_8 != weekend_8  # the alarm clock rings later on weekends


@pytest.mark.parametrize(("day", "quarter_hours"), [(date(2026, 3, 29), 92),
                                                     (date(2025, 10, 26), 100)])
def test_daylight_saving_days(day: date, quarter_hours: int) -> None:
    sim = simulator()
    daily = sim.series(PRM, Dataset.DAILY_CONSUMPTION,
                       Period(datetime(2025, 10, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)),
                       Resolution.P1D)
    reading = next(r for r in daily.readings if r.start.date() == day)
    curve = sim.series(PRM, Dataset.CONSUMPTION_LOAD_CURVE, Period(reading.start, reading.end),
                       Resolution.PT15M)
    assert len(curve.readings) == quarter_hours
    assert sum(r.value for r in curve.readings) / 4 == reading.value
    starts = [r.start for r in curve.readings]
    assert starts == sorted(starts)
    assert len(set(starts)) == quarter_hours


def test_default_profiles_are_deterministic_and_varied() -> None:
    assert derive_profile(PRM) == derive_profile(PRM)
    others = [derive_profile(PointRef(Source.ENEDIS, f"{n:014d}")) for n in range(1, 40)]
    assert len({p.occupants[-1].lastname for p in others}) > 5
    assert any(p.has_production for p in others)
    assert {p.energy for p in others} == {Energy.ELECTRICITY}
    assert all(p.timezone == "Europe/Paris" for p in others)


def test_reserved_identifiers_are_unknown() -> None:
    with pytest.raises(UnknownPoint):
        simulator().describe(PointRef(Source.ENEDIS, "12345678999999"))
    with pytest.raises(UnknownPoint):
        Simulator(derive_unknown=False).describe(PRM)


@pytest.mark.parametrize("overrides", [
    {"energy": Energy.GAS},  # an Enedis PRM is electricity
    {"scale": 0.0},
    {"timezone": "America/Lima"},
    {"occupants": (Occupant("A", date(2020, 1, 1), date(2022, 1, 1)),
                   Occupant("B", date(2021, 1, 1)))},  # overlap
    {"occupants": (Occupant("A", date(2020, 1, 1), date(2019, 1, 1)),)},
])
def test_inconsistent_profiles_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(DomainError):
        derive_profile(PRM, **overrides)


def test_authorisation_override_and_restore() -> None:
    sim = simulator()
    sim.set_authorisation(PRM, UpstreamState.SUSPENDED)
    assert sim.authorisation(PRM).state is UpstreamState.SUSPENDED
    sim.set_authorisation(PRM, None)
    assert sim.authorisation(PRM).state is UpstreamState.ACTIVE


def test_fault_plan_next_then_probability_reproducibly() -> None:
    plan = FaultPlan(seed=3)
    plan.next(FaultKind.RATE_LIMITED, count=2)
    plan.sometimes(Fault.of(FaultKind.UNAVAILABLE, status=502), 0.5)
    drawn = [plan.draw() for _ in range(12)]
    assert [f.kind for f in drawn[:2] if f] == [FaultKind.RATE_LIMITED] * 2
    later = [f is not None for f in drawn[2:]]
    assert True in later
    assert False in later
    replay = FaultPlan(seed=3)
    replay.sometimes(Fault.of(FaultKind.UNAVAILABLE, status=502), 0.5)
    assert [replay.draw() is not None for _ in range(10)] == later


@pytest.mark.parametrize("bad", [lambda p: p.next(FaultKind.LATENCY, count=0),
                                 lambda p: p.sometimes(FaultKind.LATENCY, 1.5),
                                 lambda p: p.next(Fault.of(FaultKind.UNAVAILABLE, status=404))])
def test_fault_plan_rejects_nonsense(bad: object) -> None:
    with pytest.raises(DomainError):
        bad(FaultPlan())  # type: ignore[operator]

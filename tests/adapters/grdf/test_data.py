"""ADICT reads: informative gas days, published periods, refusals sent with HTTP 200."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.errors import UpstreamDenied
from adapters.grdf.vocabulary import Role
from adapters.timekeeping import at_hour
from consent.identifiers import PointRef
from consent.periods import Period
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Resolution
from tests.adapters.support import GrdfWorld, grdf_world
from tests.contract.harnesses import GAS, GAS_VACANT

PARIS = "Europe/Paris"


def _seed(world: GrdfWorld, point: PointRef = GAS,
          flags: tuple[bool, bool, bool, bool] = (True, True, True, True)) -> None:
    profile = world.simulator.profile(point)
    world.state.seed(point.identifier, Role.AUTORISE_CONTRAT_FOURNITURE, date(2025, 1, 1),
                     "Martin", "alice@example.org", profile.address.postal_code,
                     date(2023, 1, 1), flags=flags)


def _gas_days(first: date, last: date) -> Period:
    return Period(at_hour(first, PARIS, 6), at_hour(last, PARIS, 6))


async def test_published_periods_add_up_to_the_gas_days_they_cover() -> None:
    async with grdf_world() as world:
        _seed(world)
        published = await world.adapter.series(GAS, Dataset.DAILY_CONSUMPTION,
                                               _gas_days(date(2026, 3, 1), date(2026, 9, 1)),
                                               Resolution.P1M)
        assert len(published.readings) == 6
        first, last = published.readings[0].start, published.readings[-1].end
        daily = await world.adapter.series(GAS, Dataset.DAILY_CONSUMPTION, Period(first, last),
                                           Resolution.P1D)
        assert sum(r.value for r in published.readings) == sum(r.value for r in daily.readings)
        assert {r.start.hour for r in published.readings} == {6}


async def test_an_inclusive_date_fin_changes_nothing() -> None:
    period = _gas_days(date(2026, 9, 1), date(2026, 10, 1))
    async with grdf_world() as exclusive, grdf_world(fake={"inclusive_end": True}) as inclusive:
        _seed(exclusive)
        _seed(inclusive)
        first = await exclusive.adapter.series(GAS, Dataset.DAILY_CONSUMPTION, period,
                                               Resolution.P1D)
        second = await inclusive.adapter.series(GAS, Dataset.DAILY_CONSUMPTION, period,
                                                Resolution.P1D)
        assert first == second
        assert len(first.readings) == 30


async def test_a_moved_holder_is_refused_with_http_200() -> None:
    async with grdf_world() as world:
        _seed(world, GAS_VACANT)
        with pytest.raises(UpstreamDenied) as caught:
            await world.adapter.record(GAS_VACANT, Dataset.CONTRACT)
        assert caught.value.extra["reason"] == "not-holder"
        assert (await world.adapter.authorisation(GAS_VACANT)).state is \
            UpstreamState.ENDED


async def test_data_outside_the_declared_perimeter_is_refused() -> None:
    async with grdf_world() as world:
        _seed(world, flags=(False, True, True, True))  # no contractual data
        with pytest.raises(UpstreamDenied) as caught:
            await world.adapter.record(GAS, Dataset.CONTRACT)
        assert caught.value.extra["reason"] == "outside-perimeter"
        info = await world.adapter.describe(GAS)  # the move-in stays unknown: history bounds
        assert info.availability(Dataset.DAILY_CONSUMPTION).period is not None


async def test_a_holder_revocation_denies_reads() -> None:
    async with grdf_world() as world:
        _seed(world)
        world.simulator.set_authorisation(GAS, UpstreamState.REVOKED)
        with pytest.raises(UpstreamDenied) as caught:
            await world.adapter.series(GAS, Dataset.DAILY_CONSUMPTION,
                                       _gas_days(date(2026, 10, 1), date(2026, 10, 3)),
                                       Resolution.P1D)
        assert caught.value.extra["reason"] == "revoked"

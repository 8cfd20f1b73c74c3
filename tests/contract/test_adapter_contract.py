"""The contract every MeterDataAdapter passes: same questions, same answers, same errors.

The simulator called directly is the reference answer; each adapter must return exactly that,
whatever sits in between (nothing, or HTTP with its own encoding and auth).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.base import (
    AuthorisationState,
    HealthState,
    MeterDataAdapter,
    MeterNumberCheck,
    PortAction,
    PortRequestStatus,
    PortState,
)
from adapters.errors import (
    BeforeMoveIn,
    BeyondHistory,
    NoData,
    NotYetAvailable,
    UnknownPoint,
    Unsupported,
    UnsupportedDataset,
    UnsupportedResolution,
    UpstreamDenied,
    UpstreamMalformed,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.simulator import Fault, FaultKind
from consent.errors import Conflict, NotFound
from consent.identifiers import PointRef
from consent.periods import Period
from consent.vocabulary import Dataset, Direction, Energy, Resolution
from tests.contract.conftest import EAN, GAS, LONG, MOVED, NO_CURVE, UNKNOWN, VACANT, Harness

PARIS = ZoneInfo("Europe/Paris")


def last_days(h: Harness, days: int, dataset: Dataset = Dataset.DAILY_CONSUMPTION,
              point: PointRef = LONG) -> Period:
    available = h.simulator.describe(point).availability(dataset).period
    assert available is not None
    assert available.end is not None
    return Period(available.end - timedelta(days=days), available.end)


def test_every_adapter_satisfies_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.adapter, MeterDataAdapter)


async def test_capabilities_cover_the_vocabulary(harness: Harness) -> None:
    caps = await harness.adapter.capabilities()
    assert {d.dataset for d in caps.datasets} == set(Dataset)
    assert Resolution.PT15M in caps.limits(Dataset.CONSUMPTION_LOAD_CURVE).resolutions
    assert caps.meter_port is True
    if harness.wire:  # the in-house API announces its quotas and per-call windows
        assert {q.per for q in caps.quotas} == {timedelta(seconds=1), timedelta(hours=1)}
        assert caps.limits(Dataset.CONSUMPTION_LOAD_CURVE).max_window == timedelta(days=31)


async def test_describe_matches_the_reference(harness: Harness) -> None:
    info = await harness.adapter.describe(LONG)
    assert info == harness.simulator.describe(LONG)
    assert info.energy is Energy.ELECTRICITY
    assert info.directions == {Direction.CONSUMPTION, Direction.PRODUCTION}
    daily = info.availability(Dataset.DAILY_CONSUMPTION).period
    assert daily is not None
    assert daily.end is not None
    assert daily.end.astimezone(PARIS).isoformat() == "2026-10-15T00:00:00+02:00"  # D-1


@pytest.mark.parametrize(("dataset", "resolution", "days"), [
    (Dataset.DAILY_CONSUMPTION, Resolution.P1D, 30),
    (Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M, 40),  # longer than one HTTP call
    (Dataset.DAILY_MAX_POWER, Resolution.P1D, 10),
    (Dataset.CONSUMPTION_INDEX, Resolution.P1D, 10),
    (Dataset.PRODUCTION_LOAD_CURVE, Resolution.PT10M, 3),
])
async def test_series_match_the_reference(harness: Harness, dataset: Dataset,
                                          resolution: Resolution, days: int) -> None:
    period = last_days(harness, days, dataset)
    series = await harness.adapter.series(LONG, dataset, period, resolution)
    assert series == harness.simulator.series(LONG, dataset, period, resolution)
    assert series.readings[0].start == period.start
    assert series.timezone == "Europe/Paris"


async def test_daily_energy_is_the_sum_of_the_curve(harness: Harness) -> None:
    period = last_days(harness, 7)
    daily = await harness.adapter.series(LONG, Dataset.DAILY_CONSUMPTION, period, Resolution.P1D)
    curve = await harness.adapter.series(LONG, Dataset.CONSUMPTION_LOAD_CURVE, period,
                                         Resolution.PT15M)
    assert len(curve.readings) == 7 * 96
    assert sum(r.value for r in curve.readings) / 4 == sum(r.value for r in daily.readings)


async def test_gas_days_start_at_six(harness: Harness) -> None:
    available = (await harness.adapter.describe(GAS)).availability(
        Dataset.DAILY_CONSUMPTION).period
    assert available is not None
    assert available.end is not None
    period = Period(available.end - timedelta(days=5), available.end)
    series = await harness.adapter.series(GAS, Dataset.DAILY_CONSUMPTION, period, Resolution.P1D)
    assert [r.start.astimezone(PARIS).hour for r in series.readings] == [6] * 5
    hourly = await harness.adapter.series(GAS, Dataset.CONSUMPTION_LOAD_CURVE, period,
                                          Resolution.PT1H)
    assert sum(r.value for r in hourly.readings) == sum(r.value for r in series.readings)


async def test_inhouse_ean_points_are_served(harness: Harness) -> None:
    info = await harness.adapter.describe(EAN)
    assert info.timezone == "Europe/Brussels"
    assert info == harness.simulator.describe(EAN)


@pytest.mark.parametrize("dataset", [Dataset.CONTRACT, Dataset.IDENTITY, Dataset.CONTACT,
                                     Dataset.ADDRESS])
async def test_records_match_the_reference(harness: Harness, dataset: Dataset) -> None:
    record = await harness.adapter.record(MOVED, dataset)
    assert record == harness.simulator.record(MOVED, dataset)
    assert set(record.fields) == set(dataset.spec.fields)


async def test_records_belong_to_the_current_occupant(harness: Harness) -> None:
    contract = await harness.adapter.record(MOVED, Dataset.CONTRACT)
    assert contract.fields["last_activation_date"] == "2026-09-10"


async def test_authorisation_follows_occupancy(harness: Harness) -> None:
    active = await harness.adapter.authorisation(LONG)
    assert active.state is AuthorisationState.ACTIVE
    assert active.upstream_id
    assert active == harness.simulator.authorisation(LONG)
    ended = await harness.adapter.authorisation(VACANT)
    assert ended.state is AuthorisationState.ENDED
    assert ended.validity is not None
    assert ended.validity.end is not None


async def test_authorisation_revoked_at_the_dso_denies_data(harness: Harness) -> None:
    period = last_days(harness, 2)
    harness.simulator.set_authorisation(LONG, AuthorisationState.REVOKED)
    assert (await harness.adapter.authorisation(LONG)).state is AuthorisationState.REVOKED
    with pytest.raises(UpstreamDenied):
        await harness.adapter.series(LONG, Dataset.DAILY_CONSUMPTION, period, Resolution.P1D)
    assert (await harness.adapter.describe(LONG)).availability(
        Dataset.DAILY_CONSUMPTION).period is None


async def test_occupancy_history(harness: Harness) -> None:
    history = await harness.adapter.occupancy(MOVED)
    assert [o.customer for o in history] == ["C2", "C3"]
    assert history[0].period.end is not None
    assert history[1].period.end is None
    assert history == harness.simulator.occupancy(MOVED)


# ---- the error tree -------------------------------------------------------------------------

async def test_unknown_point(harness: Harness) -> None:
    with pytest.raises(UnknownPoint):
        await harness.adapter.describe(UNKNOWN)


async def test_dataset_not_offered_for_the_energy(harness: Harness) -> None:
    period = last_days(harness, 2, point=GAS)
    with pytest.raises(UnsupportedDataset):
        await harness.adapter.series(GAS, Dataset.DAILY_MAX_POWER, period, Resolution.P1D)
    with pytest.raises(UnsupportedResolution):
        await harness.adapter.series(GAS, Dataset.CONSUMPTION_LOAD_CURVE, period,
                                     Resolution.PT15M)


async def test_period_beyond_history(harness: Harness) -> None:
    available = last_days(harness, 1, Dataset.CONSUMPTION_LOAD_CURVE)
    info = harness.simulator.describe(LONG).availability(Dataset.CONSUMPTION_LOAD_CURVE)
    assert info.period is not None
    start = info.period.start - timedelta(days=1)
    with pytest.raises(BeyondHistory) as caught:
        await harness.adapter.series(LONG, Dataset.CONSUMPTION_LOAD_CURVE,
                                     Period(start, start + timedelta(days=2)), Resolution.PT30M)
    assert caught.value.available == info.period
    assert available.end == info.period.end


async def test_future_period(harness: Harness) -> None:
    period = last_days(harness, 1)
    assert period.end is not None
    with pytest.raises(NotYetAvailable):
        await harness.adapter.series(LONG, Dataset.DAILY_CONSUMPTION,
                                     Period(period.start, period.end + timedelta(days=1)),
                                     Resolution.P1D)


async def test_no_data_before_move_in(harness: Harness) -> None:
    available = harness.simulator.describe(MOVED).availability(Dataset.DAILY_CONSUMPTION).period
    assert available is not None
    assert available.start.date().isoformat() == "2026-09-10"
    with pytest.raises(BeforeMoveIn):
        await harness.adapter.series(MOVED, Dataset.DAILY_CONSUMPTION,
                                     Period(available.start - timedelta(days=1), available.start
                                            + timedelta(days=3)), Resolution.P1D)
    after = await harness.adapter.series(MOVED, Dataset.DAILY_CONSUMPTION,
                                         Period(available.start, available.start
                                                + timedelta(days=3)), Resolution.P1D)
    assert len(after.readings) == 3


async def test_vacant_point_is_denied(harness: Harness) -> None:
    with pytest.raises(UpstreamDenied):
        await harness.adapter.record(VACANT, Dataset.IDENTITY)


async def test_load_curve_not_recorded(harness: Harness) -> None:
    with pytest.raises(NoData):
        await harness.adapter.series(NO_CURVE, Dataset.CONSUMPTION_LOAD_CURVE,
                                     last_days(harness, 2, point=NO_CURVE), Resolution.PT30M)


# ---- meter port -----------------------------------------------------------------------------

async def test_port_request_completes_after_the_delay(harness: Harness) -> None:
    before = await harness.adapter.port_state(LONG)
    action = PortAction.CLOSE if before.state is PortState.OPEN else PortAction.OPEN
    filed = await harness.adapter.request_port(LONG, action)
    assert filed.status is PortRequestStatus.PENDING
    assert (await harness.adapter.port_state(LONG)).pending_request == filed.request_id
    with pytest.raises(Conflict):
        await harness.adapter.request_port(LONG, action)
    harness.clock.advance(timedelta(minutes=3))
    done = await harness.adapter.port_request(LONG, filed.request_id)
    assert done.status is PortRequestStatus.COMPLETED
    assert done.completed_at is not None
    assert (await harness.adapter.port_state(LONG)).state is action.target


async def test_port_errors(harness: Harness) -> None:
    with pytest.raises(NotFound):
        await harness.adapter.port_request(LONG, "PR-NOPE")
    with pytest.raises(Unsupported):
        await harness.adapter.port_state(GAS)


# ---- faults ---------------------------------------------------------------------------------

async def test_meter_number_check_says_yes_or_no_only(harness: Harness) -> None:
    adapter = harness.adapter
    assert isinstance(adapter, MeterNumberCheck)
    printed = harness.simulator.profile(LONG).printed_number
    assert await adapter.check_meter_number(LONG, printed) is True
    assert await adapter.check_meter_number(LONG, f"{printed[:4]} {printed[4:]}") is True
    assert await adapter.check_meter_number(LONG, printed[:-1]) is False
    assert await adapter.check_meter_number(MOVED, printed) is False
    with pytest.raises(UnknownPoint):
        await adapter.check_meter_number(UNKNOWN, printed)


async def test_rate_limit_becomes_a_503_with_retry_after(harness: Harness) -> None:
    harness.simulator.faults.next(Fault.of(FaultKind.RATE_LIMITED, retry_after=7))
    with pytest.raises(UpstreamRateLimited) as caught:
        await harness.adapter.describe(LONG)
    assert caught.value.status == 503
    assert caught.value.retry_after == 7
    assert (await harness.adapter.describe(LONG)).point == LONG  # one fault, then normal


async def test_server_error_is_unavailable(harness: Harness) -> None:
    harness.simulator.faults.next(Fault.of(FaultKind.UNAVAILABLE, status=500))
    with pytest.raises(UpstreamUnavailable) as caught:
        await harness.adapter.occupancy(LONG)
    assert caught.value.retryable


@pytest.mark.parametrize("kind", [FaultKind.LATENCY, FaultKind.TIMEOUT])
async def test_slow_upstream_times_out(harness: Harness, kind: FaultKind) -> None:
    harness.simulator.faults.next(Fault.of(kind, delay=2.0))
    with pytest.raises(UpstreamTimeout):
        await harness.adapter.authorisation(LONG)


async def test_small_latency_is_only_late(harness: Harness) -> None:
    harness.simulator.faults.next(Fault.of(FaultKind.LATENCY, delay=0.01))
    assert (await harness.adapter.authorisation(LONG)).state is AuthorisationState.ACTIVE


async def test_truncated_body_is_malformed(harness: Harness) -> None:
    if not harness.wire:
        pytest.skip("a truncated body needs a wire")
    harness.simulator.faults.next(FaultKind.TRUNCATED)
    with pytest.raises(UpstreamMalformed) as caught:
        await harness.adapter.describe(LONG)
    assert caught.value.field == "body"


async def test_malformed_value_is_named_never_passed_on(harness: Harness) -> None:
    if not harness.wire:
        pytest.skip("a malformed body needs a wire")
    harness.simulator.faults.next(FaultKind.MALFORMED)
    with pytest.raises(UpstreamMalformed) as caught:
        await harness.adapter.series(LONG, Dataset.DAILY_CONSUMPTION, last_days(harness, 3),
                                     Resolution.P1D)
    assert caught.value.field == "values[0].value"
    harness.simulator.faults.next(FaultKind.MALFORMED)
    with pytest.raises(UpstreamMalformed) as caught:
        await harness.adapter.occupancy(LONG)
    assert caught.value.field == "point"


async def test_health(harness: Harness) -> None:
    assert (await harness.adapter.health()).state is HealthState.OK

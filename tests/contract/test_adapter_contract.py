"""The contract every MeterDataAdapter passes: same questions, same answers, same errors.

The simulator called directly is the reference answer; each adapter must return exactly that,
whatever sits in between (nothing, HTTP with the in-house encoding, or a DSO's own wire format
and quirks). Where a DSO cannot answer a question at all (Data Connect has no meter port, knows
only the current occupant), the harness says so and the adapter must raise the documented error
or give the part of the answer the DSO publishes.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.base import (
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
    QuotaBusy,
    UnknownPoint,
    Unsupported,
    UnsupportedDataset,
    UnsupportedResolution,
    UpstreamDenied,
    UpstreamError,
    UpstreamMalformed,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.simulator import Fault, FaultKind
from consent.errors import Conflict, NotFound
from consent.identifiers import PointRef
from consent.periods import Period
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Resolution
from tests.contract.conftest import METER_NUMBERS
from tests.contract.harnesses import EAN, GAS, Harness

PARIS = ZoneInfo("Europe/Paris")
_CURVES = (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE)


def last_days(h: Harness, days: int, dataset: Dataset = Dataset.DAILY_CONSUMPTION,
              point: PointRef | None = None) -> Period:
    available = h.simulator.describe(point or h.points.long).availability(dataset).period
    assert available is not None
    assert available.end is not None
    return Period(available.end - timedelta(days=days), available.end)


async def resolution_for(h: Harness, point: PointRef, dataset: Dataset,
                         preferred: Resolution) -> Resolution:
    """``preferred`` if the adapter offers it for the point, else its first native one (a DSO
    serves a load curve at the meter's own step)."""
    offered = (await h.adapter.describe(point)).availability(dataset).resolutions
    return preferred if preferred in offered else offered[0]


def offers(h: Harness, point: PointRef, dataset: Dataset) -> bool:
    reference = {d.dataset for d in h.simulator.describe(point).datasets}
    return dataset in h.datasets and dataset in reference


def test_every_adapter_satisfies_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.adapter, MeterDataAdapter)


async def test_capabilities_cover_the_vocabulary(harness: Harness) -> None:
    caps = await harness.adapter.capabilities()
    assert {d.dataset for d in caps.datasets} == harness.datasets
    assert caps.meter_port is harness.meter_port
    if Dataset.CONSUMPTION_LOAD_CURVE in harness.datasets:
        assert Resolution.PT30M in caps.limits(Dataset.CONSUMPTION_LOAD_CURVE).resolutions
        assert caps.limits(Dataset.CONSUMPTION_LOAD_CURVE).max_window == harness.curve_window
    assert {q.per for q in caps.quotas} == harness.quota_periods


async def test_describe_matches_the_reference(harness: Harness) -> None:
    point = harness.points.long
    info = await harness.adapter.describe(point)
    reference = harness.simulator.describe(point)
    if harness.exact:
        assert info == reference
    assert (info.energy, info.directions, info.timezone) == (
        reference.energy, reference.directions, reference.timezone)
    expected = {d.dataset: d for d in reference.datasets if d.dataset in harness.datasets}
    assert {d.dataset for d in info.datasets} == set(expected)
    for item in info.datasets:
        assert item.period == harness.expected(item.dataset, expected[item.dataset].period), \
            item.dataset
        assert set(item.resolutions) - harness.extra_resolutions <= \
            set(expected[item.dataset].resolutions)
    daily = info.availability(Dataset.DAILY_CONSUMPTION).period
    assert daily is not None
    assert daily.end is not None
    day_end = daily.end.astimezone(PARIS)
    assert (day_end.date().isoformat(), day_end.hour) in (("2026-10-15", 0), ("2026-10-15", 6))


@pytest.mark.parametrize(("dataset", "resolution", "days"), [
    (Dataset.DAILY_CONSUMPTION, Resolution.P1D, 30),
    (Dataset.CONSUMPTION_LOAD_CURVE, Resolution.PT30M, 40),  # longer than one HTTP call
    (Dataset.DAILY_MAX_POWER, Resolution.P1D, 10),
    (Dataset.CONSUMPTION_INDEX, Resolution.P1D, 10),
    (Dataset.PRODUCTION_LOAD_CURVE, Resolution.PT10M, 3),
])
async def test_series_match_the_reference(harness: Harness, dataset: Dataset,
                                          resolution: Resolution, days: int) -> None:
    point = harness.points.long
    if not offers(harness, point, dataset):
        with pytest.raises(UnsupportedDataset):
            await harness.adapter.series(point, dataset, last_days(harness, days), resolution)
        return
    if dataset in _CURVES:
        resolution = await resolution_for(harness, point, dataset, resolution)
    period = last_days(harness, days, dataset)
    series = await harness.adapter.series(point, dataset, period, resolution)
    assert series == harness.simulator.series(point, dataset, period, resolution)
    assert series.readings[0].start == period.start
    assert series.timezone == "Europe/Paris"


@pytest.mark.curves
async def test_daily_energy_is_the_sum_of_the_curve(harness: Harness) -> None:
    point = harness.points.long
    assert offers(harness, point, Dataset.CONSUMPTION_LOAD_CURVE)
    period = last_days(harness, 7)
    step = await resolution_for(harness, point, Dataset.CONSUMPTION_LOAD_CURVE,
                                Resolution.PT15M)
    daily = await harness.adapter.series(point, Dataset.DAILY_CONSUMPTION, period,
                                         Resolution.P1D)
    curve = await harness.adapter.series(point, Dataset.CONSUMPTION_LOAD_CURVE, period, step)
    per_hour = timedelta(hours=1) / step.nominal
    assert len(curve.readings) == 7 * 24 * per_hour
    assert sum(r.value for r in curve.readings) / int(per_hour) == \
        sum(r.value for r in daily.readings)


async def test_gas_days_start_at_six(harness: Harness) -> None:
    gas = harness.points.gas
    if gas is None:
        with pytest.raises(UnknownPoint):
            await harness.adapter.describe(GAS)
        return
    available = (await harness.adapter.describe(gas)).availability(
        Dataset.DAILY_CONSUMPTION).period
    assert available is not None
    assert available.end is not None
    period = Period(available.end - timedelta(days=5), available.end)
    series = await harness.adapter.series(gas, Dataset.DAILY_CONSUMPTION, period, Resolution.P1D)
    assert [r.start.astimezone(PARIS).hour for r in series.readings] == [6] * 5
    assert series == harness.simulator.series(gas, Dataset.DAILY_CONSUMPTION, period,
                                              Resolution.P1D)
    if offers(harness, gas, Dataset.CONSUMPTION_LOAD_CURVE):
        hourly = await harness.adapter.series(gas, Dataset.CONSUMPTION_LOAD_CURVE, period,
                                              Resolution.PT1H)
        assert sum(r.value for r in hourly.readings) == sum(r.value for r in series.readings)


async def test_inhouse_ean_points_are_served(harness: Harness) -> None:
    if harness.points.ean is None:
        with pytest.raises(UnknownPoint):
            await harness.adapter.describe(EAN)
        return
    info = await harness.adapter.describe(harness.points.ean)
    assert info.timezone == "Europe/Brussels"
    assert info == harness.simulator.describe(harness.points.ean)


@pytest.mark.parametrize("dataset", [Dataset.CONTRACT, Dataset.IDENTITY, Dataset.CONTACT,
                                     Dataset.ADDRESS])
async def test_records_match_the_reference(harness: Harness, dataset: Dataset) -> None:
    point = harness.points.moved
    if dataset not in harness.datasets:
        with pytest.raises(UnsupportedDataset):
            await harness.adapter.record(point, dataset)
        return
    record = await harness.adapter.record(point, dataset)
    reference = harness.simulator.record(point, dataset)
    unknown = harness.missing_fields.get(dataset, frozenset())
    assert record.fields == {k: None if k in unknown else v for k, v in reference.fields.items()}
    assert set(record.fields) == set(dataset.spec.fields)


async def test_records_belong_to_the_current_occupant(harness: Harness) -> None:
    contract = await harness.adapter.record(harness.points.moved, Dataset.CONTRACT)
    assert contract.fields["last_activation_date"] == "2026-09-10"


async def test_authorisation_follows_occupancy(harness: Harness) -> None:
    active = await harness.adapter.authorisation(harness.points.long)
    assert active is not None
    assert active.state is UpstreamState.ACTIVE
    assert active.upstream_id
    if harness.exact:
        assert active == harness.simulator.authorisation(harness.points.long)
    ended = await harness.adapter.authorisation(harness.points.vacant)
    assert ended is not None
    assert ended.state is UpstreamState.ENDED
    assert ended.validity is not None
    assert ended.validity.end is not None


async def test_no_authorisation_at_all_is_none(harness: Harness) -> None:
    """"The DSO knows no authorisation for this point" is ``None``, never a made-up state. A
    DSO without a state API (Enedis v5: ``points.unclaimed`` is None) cannot tell an absence;
    its adapter answers what a probe shows, so only the known point is checked there."""
    assert (await harness.adapter.authorisation(harness.points.long)) is not None
    if harness.points.unclaimed is not None:
        assert await harness.adapter.authorisation(harness.points.unclaimed) is None


async def test_authorisation_revoked_at_the_dso_denies_data(harness: Harness) -> None:
    point = harness.points.long
    period = last_days(harness, 2)
    harness.simulator.set_authorisation(point, UpstreamState.REVOKED)
    revoked = await harness.adapter.authorisation(point)
    assert revoked is not None
    assert revoked.state is UpstreamState.REVOKED
    with pytest.raises(UpstreamDenied):
        await harness.adapter.series(point, Dataset.DAILY_CONSUMPTION, period, Resolution.P1D)
    assert (await harness.adapter.describe(point)).availability(
        Dataset.DAILY_CONSUMPTION).period is None


async def test_occupancy_history(harness: Harness) -> None:
    history = await harness.adapter.occupancy(harness.points.moved)
    reference = harness.simulator.occupancy(harness.points.moved)
    if harness.exact:
        assert [o.customer for o in history] == ["C2", "C3"]
        assert history == reference
    else:  # the DSO shows the current occupant only
        assert len(history) == 1
        assert history[0].period == reference[-1].period
        assert history[0].customer
    assert history[-1].period.end is None


# ---- the error tree -------------------------------------------------------------------------

async def test_unknown_point(harness: Harness) -> None:
    with pytest.raises(UnknownPoint):
        await harness.adapter.describe(harness.points.unknown)


async def test_dataset_not_offered_for_the_point(harness: Harness) -> None:
    if harness.points.gas is not None:
        gas = harness.points.gas
        period = last_days(harness, 2, point=gas)
        with pytest.raises(UnsupportedDataset):
            await harness.adapter.series(gas, Dataset.DAILY_MAX_POWER, period, Resolution.P1D)
        if offers(harness, gas, Dataset.CONSUMPTION_LOAD_CURVE):
            with pytest.raises(UnsupportedResolution):
                await harness.adapter.series(gas, Dataset.CONSUMPTION_LOAD_CURVE, period,
                                             Resolution.PT15M)
        return
    moved = harness.points.moved  # a consumer only: no production to read
    with pytest.raises(UnsupportedDataset):
        await harness.adapter.series(moved, Dataset.DAILY_PRODUCTION,
                                     last_days(harness, 2, point=moved), Resolution.P1D)


async def test_period_beyond_history(harness: Harness) -> None:
    point = harness.points.long
    dataset = Dataset.CONSUMPTION_LOAD_CURVE if offers(harness, point, Dataset.
                                                       CONSUMPTION_LOAD_CURVE) else \
        Dataset.DAILY_CONSUMPTION
    resolution = await resolution_for(harness, point, dataset, Resolution.PT30M) \
        if dataset in _CURVES else Resolution.P1D
    served = harness.expected(dataset, harness.simulator.describe(point).availability(
        dataset).period)
    assert served is not None
    start = served.start - timedelta(days=1)
    with pytest.raises(BeyondHistory) as caught:
        await harness.adapter.series(point, dataset, Period(start, start + timedelta(days=2)),
                                     resolution)
    assert caught.value.available == served


async def test_future_period(harness: Harness) -> None:
    period = last_days(harness, 1)
    assert period.end is not None
    with pytest.raises(NotYetAvailable):
        await harness.adapter.series(harness.points.long, Dataset.DAILY_CONSUMPTION,
                                     Period(period.start, period.end + timedelta(days=1)),
                                     Resolution.P1D)


async def test_no_data_before_move_in(harness: Harness) -> None:
    moved = harness.points.moved
    available = harness.simulator.describe(moved).availability(Dataset.DAILY_CONSUMPTION).period
    assert available is not None
    assert available.start.date().isoformat() == "2026-09-10"
    with pytest.raises(BeforeMoveIn) as caught:
        await harness.adapter.series(moved, Dataset.DAILY_CONSUMPTION,
                                     Period(available.start - timedelta(days=1), available.start
                                            + timedelta(days=3)), Resolution.P1D)
    assert caught.value.available == available
    after = await harness.adapter.series(moved, Dataset.DAILY_CONSUMPTION,
                                         Period(available.start, available.start
                                                + timedelta(days=3)), Resolution.P1D)
    assert len(after.readings) == 3


async def test_vacant_point_is_denied(harness: Harness) -> None:
    dataset = Dataset.IDENTITY if Dataset.IDENTITY in harness.datasets else Dataset.CONTRACT
    with pytest.raises(UpstreamDenied):
        await harness.adapter.record(harness.points.vacant, dataset)


@pytest.mark.curves
async def test_load_curve_not_recorded(harness: Harness) -> None:
    point = harness.points.no_curve
    assert point is not None
    resolution = await resolution_for(harness, point, Dataset.CONSUMPTION_LOAD_CURVE,
                                      Resolution.PT30M)
    with pytest.raises(NoData):
        await harness.adapter.series(point, Dataset.CONSUMPTION_LOAD_CURVE,
                                     last_days(harness, 2, point=point), resolution)


# ---- meter port -----------------------------------------------------------------------------

async def test_port_request_completes_after_the_delay(harness: Harness) -> None:
    point = harness.points.long
    if not harness.meter_port:
        with pytest.raises(Unsupported):
            await harness.adapter.port_state(point)
        with pytest.raises(Unsupported):
            await harness.adapter.request_port(point, PortAction.OPEN)
        return
    before = await harness.adapter.port_state(point)
    action = PortAction.CLOSE if before.state is PortState.OPEN else PortAction.OPEN
    filed = await harness.adapter.request_port(point, action)
    assert filed.status is PortRequestStatus.PENDING
    assert (await harness.adapter.port_state(point)).pending_request == filed.request_id
    with pytest.raises(Conflict):
        await harness.adapter.request_port(point, action)
    harness.clock.advance(timedelta(minutes=3))
    done = await harness.adapter.port_request(point, filed.request_id)
    assert done.status is PortRequestStatus.COMPLETED
    assert done.completed_at is not None
    assert (await harness.adapter.port_state(point)).state is action.target


async def test_port_errors(harness: Harness) -> None:
    if harness.meter_port:
        with pytest.raises(NotFound):
            await harness.adapter.port_request(harness.points.long, "PR-NOPE")
    with pytest.raises(Unsupported):
        await harness.adapter.port_state(harness.points.gas or harness.points.long)


# ---- faults ---------------------------------------------------------------------------------

def test_only_the_operators_own_dso_checks_meter_numbers(harness: Harness) -> None:
    assert isinstance(harness.adapter, MeterNumberCheck) is (harness.name in METER_NUMBERS)


@pytest.mark.meter_numbers
async def test_meter_number_check_says_yes_or_no_only(harness: Harness) -> None:
    adapter = harness.adapter
    assert isinstance(adapter, MeterNumberCheck)
    points = harness.points
    printed = harness.simulator.profile(points.long).printed_number
    assert await adapter.check_meter_number(points.long, printed) is True
    assert await adapter.check_meter_number(points.long, f"{printed[:4]} {printed[4:]}") is True
    assert await adapter.check_meter_number(points.long, printed[:-1]) is False
    assert await adapter.check_meter_number(points.moved, printed) is False
    with pytest.raises(UnknownPoint):
        await adapter.check_meter_number(points.unknown, printed)


async def test_rate_limit_becomes_a_503_with_retry_after(harness: Harness) -> None:
    harness.simulator.faults.next(Fault.of(FaultKind.RATE_LIMITED, retry_after=7))
    with pytest.raises(UpstreamRateLimited) as caught:
        await harness.adapter.describe(harness.points.long)
    assert caught.value.status == 503
    assert caught.value.retry_after == 7
    if harness.limited:  # the DSO's Retry-After is obeyed: nothing is sent before it ends
        with pytest.raises(QuotaBusy) as held:
            await harness.adapter.describe(harness.points.long)
        assert held.value.retry_after is not None
        assert 0 < held.value.retry_after <= 7
    harness.clock.advance(timedelta(seconds=7))
    assert (await harness.adapter.describe(harness.points.long)).point == harness.points.long


async def test_server_error_is_unavailable(harness: Harness) -> None:
    # An adapter that retries safe calls gives up only after its last attempt failed too.
    harness.simulator.faults.next(Fault.of(FaultKind.UNAVAILABLE, status=500), harness.attempts)
    with pytest.raises(UpstreamUnavailable) as caught:
        await harness.adapter.occupancy(harness.points.long)
    assert caught.value.retryable


@pytest.mark.retrying
async def test_a_passing_server_error_is_retried(harness: Harness) -> None:
    assert harness.attempts >= 2
    harness.simulator.faults.next(Fault.of(FaultKind.UNAVAILABLE, status=503),
                                  harness.attempts - 1)
    period = last_days(harness, 3)
    series = await harness.adapter.series(harness.points.long, Dataset.DAILY_CONSUMPTION,
                                          period, Resolution.P1D)
    assert series == harness.simulator.series(harness.points.long, Dataset.DAILY_CONSUMPTION,
                                              period, Resolution.P1D)


@pytest.mark.parametrize("kind", [FaultKind.LATENCY, FaultKind.TIMEOUT])
async def test_slow_upstream_times_out(harness: Harness, kind: FaultKind) -> None:
    harness.simulator.faults.next(Fault.of(kind, delay=3.0))
    with pytest.raises(UpstreamTimeout):
        await harness.adapter.authorisation(harness.points.long)


async def test_small_latency_is_only_late(harness: Harness) -> None:
    harness.simulator.faults.next(Fault.of(FaultKind.LATENCY, delay=0.01))
    assert (await harness.adapter.authorisation(harness.points.long)).state is \
        UpstreamState.ACTIVE


@pytest.mark.wired
async def test_truncated_body_is_malformed(harness: Harness) -> None:
    assert harness.wire
    harness.simulator.faults.next(FaultKind.TRUNCATED)
    with pytest.raises(UpstreamMalformed) as caught:
        await harness.adapter.describe(harness.points.long)
    assert caught.value.field == "body"


@pytest.mark.wired
async def test_malformed_value_is_named_never_passed_on(harness: Harness) -> None:
    assert harness.wire
    harness.simulator.faults.next(FaultKind.MALFORMED)
    with pytest.raises(UpstreamMalformed) as caught:
        await harness.adapter.series(harness.points.long, Dataset.DAILY_CONSUMPTION,
                                     last_days(harness, 3), Resolution.P1D)
    assert caught.value.field == harness.malformed["series"]
    harness.simulator.faults.next(FaultKind.MALFORMED)
    with pytest.raises(UpstreamMalformed) as caught:
        await harness.adapter.occupancy(harness.points.long)
    assert caught.value.field == harness.malformed["occupancy"]


async def test_health(harness: Harness) -> None:
    assert (await harness.adapter.health()).state is HealthState.OK


async def test_under_chaos_answers_are_right_or_typed_errors(harness: Harness) -> None:
    """Latency, 429s, 5xx, truncated and malformed bodies mixed in at random (seeded): every
    call returns exactly the reference answer or raises an adapter error, nothing else."""
    point = harness.points.long
    period = last_days(harness, 10)
    reference = harness.simulator.series(point, Dataset.DAILY_CONSUMPTION, period,
                                         Resolution.P1D)
    record = harness.simulator.record(harness.points.moved, Dataset.CONTRACT)
    plan = harness.simulator.faults
    plan.sometimes(Fault.of(FaultKind.LATENCY, delay=0.01), 0.15)
    plan.sometimes(Fault.of(FaultKind.RATE_LIMITED, retry_after=5), 0.1)
    plan.sometimes(Fault.of(FaultKind.UNAVAILABLE, status=502), 0.15)
    plan.sometimes(FaultKind.TRUNCATED, 0.1)
    plan.sometimes(FaultKind.MALFORMED, 0.1)
    answered, refused = 0, set()
    for turn in range(24):
        try:
            if turn % 3:
                got = await harness.adapter.series(point, Dataset.DAILY_CONSUMPTION, period,
                                                   Resolution.P1D)
                assert got == reference
            else:
                fields = (await harness.adapter.record(harness.points.moved,
                                                       Dataset.CONTRACT)).fields
                unknown = harness.missing_fields.get(Dataset.CONTRACT, frozenset())
                assert fields == {k: None if k in unknown else v
                                  for k, v in record.fields.items()}
            answered += 1
        except UpstreamError as error:
            refused.add(type(error).__name__)
            wait = getattr(error, "retry_after", None)
            if wait:  # as a well-behaved caller does
                harness.clock.advance(timedelta(seconds=wait))
    assert answered > 0
    assert refused

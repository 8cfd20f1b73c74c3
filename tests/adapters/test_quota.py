"""Adapters and the limiter: each DSO request takes one turn, in the bucket the docs say.

The last test is the one that matters: many recipients hammer a real adapter concurrently and the
fake DSO, counting arrivals per window on its side, never sees a quota exceeded (and never has to
answer 429). Quotas are tiny so the run takes about a second.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from adapters.base import Quota
from adapters.enedis import EnedisConfig, Generation
from adapters.enedis.vocabulary import API_MEASURES, API_SITUATION, QUOTA_APIS_2026
from adapters.errors import QuotaBusy, ShareSpent, UpstreamRateLimited
from adapters.limiter import FairLimiter
from adapters.quota import OPERATOR, QuotaPlan, acting_for, current_recipient
from adapters.simulator import Fault, FaultKind
from adapters.timekeeping import at_hour
from consent.clock import FrozenClock
from consent.periods import Period
from consent.shared_state.quota import MemoryLedger
from consent.vocabulary import Dataset, Resolution
from tests.adapters.support import enedis_world
from tests.contract.harnesses import ENEDIS_CONSENTS, LONG, MOVED, NOW, clocked_limiter

DAY = Period(at_hour(date(2026, 10, 1), "Europe/Paris"),
             at_hour(date(2026, 10, 2), "Europe/Paris"))


def test_the_recipient_is_named_by_the_caller_context() -> None:
    assert current_recipient() == OPERATOR
    with acting_for("dash"):
        assert current_recipient() == "dash"
    assert current_recipient() == OPERATOR


def test_a_plan_names_its_buckets_and_refuses_what_it_does_not_declare() -> None:
    per_api = EnedisConfig("id", "secret").quota_plan
    assert per_api.bucket(API_MEASURES) == API_MEASURES
    v5 = EnedisConfig("id", "secret", generation=Generation.V5).quota_plan
    assert v5.bucket("metering_data_clc/v5") == v5.bucket("customers_i/v5") == "app"
    with pytest.raises(ValueError, match="not an API declared"):
        per_api.bucket("metering_data_dc/v5")
    with pytest.raises(ValueError, match="unknown quota scope"):
        QuotaPlan("x", (Quota(1, timedelta(seconds=1), "tenant"),), frozenset({"a"}))
    with pytest.raises(ValueError, match="declares no API"):
        QuotaPlan("x", (), frozenset())


@pytest.mark.parametrize("dataset", [Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE,
                                     Dataset.CONTRACT, Dataset.IDENTITY, Dataset.ADDRESS])
async def test_each_dataset_calls_the_apis_its_quota_table_declares(dataset: Dataset) -> None:
    async with enedis_world() as world:
        for point, given in ENEDIS_CONSENTS.items():
            granted = world.state.grant((point.identifier,), given, 1095)
            await world.adapter.directory.remember(point, str(granted.autorisation_id))
        if dataset.spec.is_series:
            step = Resolution.P1D if dataset is Dataset.DAILY_CONSUMPTION else Resolution.PT30M
            await world.adapter.series(LONG, dataset, DAY, step)
        else:
            await world.adapter.record(MOVED, dataset)
        called = {arrival.api for arrival in world.state.gate.log}
    assert called == set(QUOTA_APIS_2026[dataset])


async def test_a_429_holds_the_api_that_got_it_and_no_other() -> None:
    async with enedis_world() as world:
        for point, given in ENEDIS_CONSENTS.items():
            granted = world.state.grant((point.identifier,), given, 1095)
            await world.adapter.directory.remember(point, str(granted.autorisation_id))
        world.simulator.faults.next(Fault.of(FaultKind.RATE_LIMITED, retry_after=60))
        with pytest.raises(UpstreamRateLimited):
            await world.adapter.series(LONG, Dataset.DAILY_CONSUMPTION, DAY, Resolution.P1D)
        sent = len(world.state.gate.log)

        with pytest.raises(QuotaBusy) as held:  # the same API: refused here, not sent
            await world.adapter.series(LONG, Dataset.CONSUMPTION_LOAD_CURVE, DAY,
                                       Resolution.PT30M)
        assert len(world.state.gate.log) == sent
        await world.adapter.record(MOVED, Dataset.IDENTITY)  # another API: served
        world.clock.advance(timedelta(seconds=60))
        await world.adapter.series(LONG, Dataset.DAILY_CONSUMPTION, DAY, Resolution.P1D)
    assert held.value.retry_after is not None
    assert 0 < held.value.retry_after <= 60
    assert [a.api for a in world.state.gate.log[sent:]] == [API_SITUATION, API_MEASURES]


async def test_no_quota_is_exceeded_at_the_dso_under_concurrent_load() -> None:
    """Eight recipients, 40 calls at once over two APIs; Data Connect-like quotas shrunk to
    4 per 0.25 s per application and 12 per second per API, declared alike on both sides.
    The margin is 20 % (50 ms): client and fake share one event loop, so a request may reach
    the fake a few milliseconds after its turn."""
    quotas = (Quota(4, timedelta(seconds=0.25)), Quota(12, timedelta(seconds=1), "api"))
    limiter = FairLimiter(max_wait=30, margin=0.2)
    async with enedis_world(limiter=limiter, fake={"quotas": quotas},
                            config={"quotas": quotas}) as world:
        for point, given in ENEDIS_CONSENTS.items():
            granted = world.state.grant((point.identifier,), given, 1095)
            await world.adapter.directory.remember(point, str(granted.autorisation_id))

        async def recipient(name: str) -> int:
            done = 0
            with acting_for(name):
                for turn in range(5):
                    if turn % 2:
                        await world.adapter.record(MOVED, Dataset.IDENTITY)
                    else:
                        await world.adapter.series(LONG, Dataset.DAILY_CONSUMPTION, DAY,
                                                   Resolution.P1D)
                    done += 1
            return done

        results = await asyncio.gather(*(recipient(f"app-{n}") for n in range(8)))
        gate = world.state.gate
    assert results == [5] * 8
    assert all(a.admitted for a in gate.log)  # the DSO never had to answer 429
    assert len(gate.log) == 40 == limiter.granted  # one turn per request, no more
    assert gate.busiest(quotas[0]) <= 4
    assert gate.apis() == {"mesure_synchrone_auto/v2", "situation_contrat_auto/v1"}
    for api in gate.apis():
        assert gate.busiest(quotas[1], api) <= 12


# Data Connect 2026 per API, scaled: 5 calls a second and 40 (for 1,000) an hour.
HOURLY = QuotaPlan("dc", (Quota(5, timedelta(seconds=1), "api"),
                          Quota(40, timedelta(hours=1), "api")), frozenset({"mesures"}))


@pytest.mark.parametrize("share", [0.5, 0.25])
async def test_no_recipient_takes_more_than_its_share_of_an_hourly_quota(share: float) -> None:
    """An app polling at 4 calls a second never queues (round-robin never acts): without a
    share it took the whole hourly quota in ten seconds and every other app waited an hour
    (found by review). It now stops at its share, told 429 with the wait; the others go on."""
    clock = FrozenClock(NOW)
    limiter = clocked_limiter(clock, share)
    taken = 0
    while taken < int(40 * share):
        await limiter.acquire(HOURLY, "mesures", "greedy")
        taken += 1
        clock.advance(timedelta(seconds=0.25))
    with pytest.raises(ShareSpent) as spent:
        await limiter.acquire(HOURLY, "mesures", "greedy")
    assert taken == int(40 * share)
    assert (spent.value.status, spent.value.code) == (429, "rate-limited")
    assert 3000 < (spent.value.retry_after or 0) <= 3780  # its first call leaves the hour
    for _ in range(int(40 * share)):  # another app still has its share
        await limiter.acquire(HOURLY, "mesures", "other")
        clock.advance(timedelta(seconds=0.25))
    clock.advance(timedelta(hours=1, minutes=4))
    await limiter.acquire(HOURLY, "mesures", "greedy")  # its share is back


async def test_a_whole_share_is_no_cap_and_a_share_beyond_one_is_refused() -> None:
    clock = FrozenClock(NOW)
    limiter = clocked_limiter(clock)
    for _ in range(40):
        await limiter.acquire(HOURLY, "mesures", "alone")
        clock.advance(timedelta(seconds=0.25))
    with pytest.raises(QuotaBusy) as busy:  # the DSO's quota itself: a 503 for everyone
        await limiter.acquire(HOURLY, "mesures", "alone")
    assert busy.value.status == 503
    with pytest.raises(ValueError, match="share"):
        FairLimiter(share=1.5)


async def test_a_burst_queued_together_cannot_pass_the_share_at_once() -> None:
    """Thirty requests of one app arriving together all passed the share check before any
    start was counted (found by review: 30 granted of a share of 10): starts are reserved
    before the turn."""
    limiter = FairLimiter(max_wait=30, share=0.25)
    outcomes = await asyncio.gather(*(limiter.acquire(HOURLY, "mesures", "greedy")
                                      for _ in range(30)), return_exceptions=True)
    granted = [o for o in outcomes if o is None]
    assert len(granted) == 10
    assert all(isinstance(o, ShareSpent) for o in outcomes if o is not None)


async def test_a_burst_of_429s_naming_no_wait_holds_once_and_an_answer_starts_over() -> None:
    """Six 429s of one burst used to escalate six times (33.6 s); they hold once. An answer
    that is not a 429 starts the escalation over."""
    clock = FrozenClock(NOW)
    limiter = clocked_limiter(clock)
    holds = [await limiter.backoff(HOURLY, "mesures", None) for _ in range(6)]
    assert holds[0] == pytest.approx(1.05)
    assert all(h <= holds[0] for h in holds)
    clock.advance(timedelta(seconds=1.5))
    assert await limiter.backoff(HOURLY, "mesures", None) == pytest.approx(2.1)  # again: x2
    clock.advance(timedelta(seconds=3))
    limiter.settled(HOURLY, "mesures")
    assert await limiter.backoff(HOURLY, "mesures", None) == pytest.approx(1.05)


async def test_a_turn_failing_after_its_reservation_was_pruned_raises_its_own_error() -> None:
    """A turn longer than the longest window (a ledger stuck on its database): the
    recipient's next request pruned the reservation meanwhile; the first request's failure
    is still its own, not a ValueError of the bookkeeping (found by review)."""
    clock = FrozenClock(NOW)
    stuck = asyncio.Event()

    def seconds() -> float:
        return clock.now().timestamp()

    class StuckLedger(MemoryLedger):
        async def take(self) -> float:
            await stuck.wait()
            raise RuntimeError("the ledger's database went away")

    limiter = FairLimiter(max_wait=0.5, seconds=seconds, share=0.5,
                          ledgers=lambda windows: StuckLedger(windows, seconds=seconds))
    first = asyncio.create_task(limiter.acquire(HOURLY, "mesures", "greedy"))
    await asyncio.sleep(0.01)
    clock.advance(timedelta(hours=2))
    lane = limiter._lanes[next(iter(limiter._lanes))]
    lane.share_wait("greedy", clock.now().timestamp(), 0.5)  # prunes the reservation
    stuck.set()
    with pytest.raises(RuntimeError, match="database went away"):
        await first
    assert "greedy" not in lane.starts

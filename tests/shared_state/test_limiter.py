"""The upstream limiter's contract, on both ledgers (memory; PostgreSQL shared by replicas).

One :class:`~adapters.limiter.FairLimiter` per replica: ``make()`` builds another replica's
limiter on the same PostgreSQL database, and returns the same limiter in memory (one process
is all there is). Time is virtual (the ledgers' clock, advanced by the limiter's waits), so the
suite asserts exact counts per window and runs in no time; the starts are read where the
limiter records them, in its ledgers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from datetime import timedelta

import pytest

from adapters.base import Quota
from adapters.enedis import EnedisConfig
from adapters.enedis.vocabulary import API_MEASURES, API_SITUATION, QUOTA_APIS_2026
from adapters.errors import QuotaBusy
from adapters.limiter import FairLimiter
from adapters.quota import QuotaPlan, UpstreamLimiter
from consent.shared_state.quota import DatabaseLedger, MemoryLedger, QuotaLedger, SlidingWindow
from consent.shared_state.quota_leases import LeasedLedger
from consent.vocabulary import Dataset
from tests.shared_state.conftest import Backend, Seconds

#: 3 calls a second for the whole application, 5 per 10 seconds for each API.
PLAN = QuotaPlan("dso", (Quota(3, timedelta(seconds=1)), Quota(5, timedelta(seconds=10), "api")),
                 frozenset({"measures", "contracts"}))

Make = Callable[..., FairLimiter]
#: Every start a ledger granted: (its windows' names, the time it recorded).
Starts = list[tuple[frozenset[str], float]]


class Recording:
    """A ledger that notes the starts it grants (the contract's subject stays the inner one)."""

    def __init__(self, inner: QuotaLedger, now: Callable[[], float], starts: Starts) -> None:
        self.inner, self.windows, self._now, self._starts = inner, inner.windows, now, starts

    async def take(self) -> float:
        now = self._now()  # what the inner ledger records: it reads the clock before awaiting
        wait = await self.inner.take()
        if wait == 0.0:
            self._starts.append((frozenset(w.name for w in self.windows), now))
        return wait

    async def hold(self, seconds: float, names: Collection[str]) -> None:
        await self.inner.hold(seconds, names)

    async def headroom(self) -> dict[str, tuple[int, int]]:
        return await self.inner.headroom()

    async def close(self) -> None:
        await self.inner.close()


def most_in_a_window(stamps: list[float], period: float) -> int:
    """The most starts in any half-open interval of ``period`` (a start leaves the window at
    ``start + period``, the ledgers' own arithmetic)."""
    stamps, best, first = sorted(stamps), 0, 0
    for last, at in enumerate(stamps):
        while stamps[first] + period - at <= 0:
            first += 1
        best = max(best, last - first + 1)
    return best


@pytest.fixture
def starts() -> Starts:
    return []


@pytest.fixture
async def make(backend: Backend, starts: Starts) -> AsyncIterator[Make]:
    """Limiters over ``backend``'s ledgers and virtual clock (``max_wait``, no margin)."""
    async def sleep(seconds: float) -> None:
        for _ in range(10):  # granted callers run (and note the time) before time moves on
            await asyncio.sleep(0)
        backend.seconds.now += seconds

    built: list[FairLimiter] = []

    def replica(max_wait: float = 600.0) -> FairLimiter:
        if backend.kind == "memory" and built:
            return built[0]
        db = backend.database() if backend.kind != "memory" else None

        def ledgers(windows: Sequence[SlidingWindow]) -> QuotaLedger:
            inner: QuotaLedger = MemoryLedger(windows, seconds=backend.seconds)
            if db is not None:  # what replicas use (leases of one start at these quotas)
                inner = LeasedLedger(DatabaseLedger(db, windows, seconds=backend.seconds),
                                     seconds=backend.seconds)
            return Recording(inner, backend.seconds, starts)
        built.append(FairLimiter(max_wait=max_wait, ledgers=ledgers, margin=0.0, sleep=sleep))
        return built[-1]

    yield replica
    for limiter in built:
        await limiter.close()


async def test_concurrent_callers_never_exceed_any_window(make: Make, starts: Starts) -> None:
    limiter = make()
    assert isinstance(limiter, UpstreamLimiter)

    await asyncio.gather(*(limiter.acquire(PLAN, "measures" if n % 3 else "contracts",
                                           f"app-{n % 4}") for n in range(15)))

    assert limiter.granted == len(starts) == 15  # every turn given is a start counted
    everything = [at for _, at in starts]
    by_api = {api: [at for names, at in starts if f"dso/{api}/5per10s" in names]
              for api in ("measures", "contracts")}
    assert most_in_a_window(everything, 1.0) <= 3
    assert all(most_in_a_window(s, 10.0) <= 5 for s in by_api.values())
    assert [len(s) for s in by_api.values()] == [10, 5]
    assert max(everything) - min(everything) >= 10.0  # the per-API windows did hold calls back


async def test_turns_go_round_robin_across_recipients(make: Make) -> None:
    limiter = make()
    plan = QuotaPlan("dso", (Quota(1, timedelta(seconds=1)),), frozenset({"measures"}))
    order: list[str] = []

    async def call(recipient: str) -> None:
        await limiter.acquire(plan, "measures", recipient)
        order.append(recipient)

    greedy = [asyncio.create_task(call("greedy")) for _ in range(12)]
    await asyncio.sleep(0)  # the greedy recipient queued first
    polite = [asyncio.create_task(call("polite")) for _ in range(2)]
    await asyncio.gather(*greedy, *polite)

    assert len(order) == 14
    # One turn each: the polite recipient never waits behind the greedy one's whole queue.
    assert order.index("polite") <= 3
    assert [i for i, r in enumerate(order) if r == "polite"][-1] <= 5


async def test_one_apps_burst_does_not_turn_another_away(make: Make) -> None:
    """Data Connect 2026's quotas (5 a second, 1,000 an hour): eight requests of one app
    queued, one of another is admitted (it waits one turn at the per-second pace, not eight
    at the hourly one) and served early; a burst past what the wait bound can serve at that
    pace is turned away, its own later requests first."""
    limiter = make(max_wait=10.0)
    plan = QuotaPlan("dc", (Quota(5, timedelta(seconds=1)), Quota(1000, timedelta(hours=1))),
                     frozenset({"measures"}))
    order: list[str] = []
    busy: list[str] = []

    async def call(recipient: str) -> None:
        try:
            await limiter.acquire(plan, "measures", recipient)
            order.append(recipient)
        except QuotaBusy:
            busy.append(recipient)

    burst = [asyncio.create_task(call("burst")) for _ in range(8)]
    await asyncio.sleep(0)
    await asyncio.gather(*burst, call("other"))
    assert (busy, len(order)) == ([], 9)
    assert order.index("other") <= 6  # round-robin: right after the burst's next turn

    flood = [asyncio.create_task(call("flood")) for _ in range(80)]
    await asyncio.gather(*flood)
    assert 0 < busy.count("flood") < 80  # ten seconds at five a second admits about fifty


async def test_waiters_a_full_long_window_cannot_serve_are_refused_at_once(
        make: Make) -> None:
    """5 a second but 7 an hour: ten at once. Seven start; the three others, admitted while
    the ledger still had room, are refused as soon as it says the next start is an hour away,
    not after their whole wait."""
    limiter = make(max_wait=10.0)
    plan = QuotaPlan("tiny", (Quota(5, timedelta(seconds=1)), Quota(7, timedelta(hours=1))),
                     frozenset({"measures"}))
    outcome: list[float | None] = []  # None: started; else the Retry-After refused with

    async def call() -> None:
        try:
            await limiter.acquire(plan, "measures", "app")
            outcome.append(None)
        except QuotaBusy as busy:
            outcome.append(busy.retry_after or 0)

    await asyncio.wait_for(asyncio.gather(*(call() for _ in range(10))), 5)  # not max_wait
    assert outcome.count(None) == 7
    assert len([wait for wait in outcome if wait is not None and wait > 10]) == 3


class SlowLedger(Recording):
    """A ledger whose every answer takes a round trip (like PostgreSQL's), counting the asks."""

    asked = 0

    async def take(self) -> float:
        self.asked += 1
        await asyncio.sleep(0.001)
        return await super().take()


async def test_callers_arriving_at_an_idle_lane_ask_the_ledger_once_then_queue(
        starts: Starts) -> None:
    seconds = Seconds()
    slow: list[SlowLedger] = []

    def ledgers(windows: Sequence[SlidingWindow]) -> QuotaLedger:
        slow.append(SlowLedger(MemoryLedger(windows, seconds=seconds), seconds, starts))
        return slow[-1]

    async def sleep(wait: float) -> None:
        await asyncio.sleep(0)
        seconds.now += wait

    limiter = FairLimiter(max_wait=600.0, ledgers=ledgers, margin=0.0, sleep=sleep)
    plan = QuotaPlan("dso", (Quota(1, timedelta(seconds=1)),), frozenset({"measures"}))
    order: list[str] = []

    async def call(recipient: str) -> None:
        await limiter.acquire(plan, "measures", recipient)
        order.append(recipient)

    first = [asyncio.create_task(call("greedy")) for _ in range(12)]
    await asyncio.sleep(0)
    await asyncio.gather(*first, *(call("polite") for _ in range(2)))

    assert len(starts) == len(order) == 14
    # Before: all twelve asked the ledger at once, and turns went in the order it answered.
    # Now: one asks, the others queue; each later ask is the dispatcher's, one per turn or wait.
    assert slow[0].asked <= 1 + 2 * 13
    assert order.index("polite") <= 2
    await limiter.close()


async def test_callers_arriving_during_the_ask_judge_by_its_fresh_answer(
        starts: Starts) -> None:
    """Found in review: a caller arriving while the idle lane's first caller asked the ledger
    was refused on the lane's last answer, a 429's Retry-After of long ago."""
    seconds = Seconds()

    def ledgers(windows: Sequence[SlidingWindow]) -> QuotaLedger:
        return SlowLedger(MemoryLedger(windows, seconds=seconds), seconds, starts)

    limiter = FairLimiter(max_wait=10.0, ledgers=ledgers, margin=0.0)
    plan = QuotaPlan("dso", (Quota(100, timedelta(seconds=1)),), frozenset({"measures"}))
    await limiter.acquire(plan, "measures", "a")
    await limiter.backoff(plan, "measures", 30.0)  # the DSO answered 429, Retry-After: 30
    seconds.now += 60.0  # a minute later the quota is free again
    await asyncio.gather(limiter.acquire(plan, "measures", "a"),
                         limiter.acquire(plan, "measures", "b"))
    assert len(starts) == 3
    await limiter.close()


async def test_datasets_of_one_api_share_its_quota_and_apis_do_not_block_each_other(
        make: Make) -> None:
    """Data Connect 2026: daily values and load curves are both ``mesure_synchrone_auto/v2``;
    its hourly quota is theirs together, while the contract API keeps its own."""
    config = EnedisConfig("client", "secret", quotas=(
        Quota(100, timedelta(seconds=1)), Quota(4, timedelta(hours=1), "api")))
    plan = config.quota_plan
    daily = QUOTA_APIS_2026[Dataset.DAILY_CONSUMPTION][0]
    curve = QUOTA_APIS_2026[Dataset.CONSUMPTION_LOAD_CURVE][0]
    assert daily == curve == API_MEASURES
    limiter = make(max_wait=60.0)
    for api in (daily, curve, daily, curve):
        await limiter.acquire(plan, api, "dash")

    with pytest.raises(QuotaBusy) as refused:
        await limiter.acquire(plan, curve, "coach")
    await limiter.acquire(plan, API_SITUATION, "coach")  # another API: not held back

    assert refused.value.retry_after is not None
    assert refused.value.retry_after >= 3599
    room = await limiter.headroom()
    assert room[("enedis:client", f"{API_MEASURES}/4per3600s")] == (0, 4)
    assert room[("enedis:client", f"{API_SITUATION}/4per3600s")] == (3, 4)
    assert room[("enedis:client", "app/100per1s")] == (95, 100)


async def test_application_quotas_count_every_api_together(make: Make) -> None:
    limiter = make(max_wait=0.5)
    for api in ("measures", "contracts", "measures"):
        await limiter.acquire(PLAN, api, "dash")
    with pytest.raises(QuotaBusy):
        await limiter.acquire(PLAN, "contracts", "dash")


async def test_a_429_holds_its_bucket_for_retry_after_and_only_that_bucket(
        backend: Backend, make: Make) -> None:
    plan = QuotaPlan("dso", (Quota(100, timedelta(seconds=1)),
                             Quota(100, timedelta(hours=1), "api")),
                     frozenset({"measures", "contracts"}))
    first, second = make(max_wait=10.0), make(max_wait=10.0)
    await first.acquire(plan, "measures", "dash")

    await first.backoff(plan, "measures", 30)

    with pytest.raises(QuotaBusy) as refused:  # on any replica
        await second.acquire(plan, "measures", "coach")
    assert refused.value.retry_after is not None
    assert 30 <= refused.value.retry_after <= 31
    await second.acquire(plan, "contracts", "coach")  # the other API goes on
    room = await second.headroom()
    assert room[("dso", "measures/100per3600s")] == (0, 100)
    assert room[("dso", "contracts/100per3600s")] == (99, 100)
    backend.seconds.now += 30
    await second.acquire(plan, "measures", "coach")  # Retry-After has passed
    assert (await first.headroom())[("dso", "measures/100per3600s")] == (98, 100)


async def test_waiters_that_gave_up_do_not_keep_a_lane_busy_after_the_hold(
        make: Make, backend: Backend) -> None:
    """Callers queued behind a 429 hold leave (their clients hang up); once the hold is over
    the next caller is served: the lane asks its ledger again instead of counting the callers
    who left and trusting the hold's old estimate (which refused everyone on that replica
    forever: found by the fault test of the DSO answering 429)."""
    limiter = make(max_wait=3.0)
    plan = QuotaPlan("dso", (Quota(3, timedelta(seconds=1)),), frozenset({"measures"}))
    await limiter.backoff(plan, "measures", 1.0)
    callers = [asyncio.create_task(limiter.acquire(plan, "measures", f"app-{n % 3}"))
               for n in range(12)]
    await asyncio.sleep(0)  # they queue (or are told at once that the wait is too long)
    for caller in callers:
        caller.cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    backend.seconds.now += 60.0
    await limiter.acquire(plan, "measures", "app")  # served, not refused as "busy"
    assert limiter.granted == 1


async def test_a_429_without_retry_after_holds_for_the_shortest_quota_period(
        backend: Backend, make: Make) -> None:
    limiter = make(max_wait=0.1)
    await limiter.backoff(PLAN, "contracts", None)
    with pytest.raises(QuotaBusy):
        await limiter.acquire(PLAN, "contracts", "dash")
    backend.seconds.now += 1.0
    await limiter.acquire(PLAN, "contracts", "dash")


async def test_replicas_share_the_windows(make: Make) -> None:
    first, second = make(max_wait=0.5), make(max_wait=0.5)
    for n in range(3):
        await (first if n % 2 else second).acquire(PLAN, "measures", "dash")
    with pytest.raises(QuotaBusy):
        await first.acquire(PLAN, "contracts", "coach")
    with pytest.raises(QuotaBusy):
        await second.acquire(PLAN, "measures", "coach")


async def test_a_dso_without_quota_is_not_counted_and_unknown_apis_are_refused(
        make: Make) -> None:
    limiter = make(max_wait=0.1)
    free = QuotaPlan("simulator", (), frozenset({"series"}))
    for _ in range(50):
        await limiter.acquire(free, "series", "dash")
    assert await limiter.headroom() == {}
    with pytest.raises(ValueError, match="not an API declared"):
        await limiter.acquire(PLAN, "contract", "dash")  # a typo must never mean unlimited
    await limiter.acquire(PLAN, "contracts", "dash")
    with pytest.raises(ValueError, match="other quotas"):
        await limiter.acquire(QuotaPlan("dso", (Quota(9, timedelta(seconds=1)),),
                                        frozenset({"measures"})), "measures", "dash")

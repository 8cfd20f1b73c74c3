"""The shared-state contract: every implementation (memory, PostgreSQL) behaves the same.

Each test gets a ``make`` that returns the protocol object as one replica would build it; on
PostgreSQL each call is a new handle on the same database, so a test that makes two is two
replicas sharing state. In memory both calls return the same object (one process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from consent.clock import FrozenClock
from consent.shared_state import (
    AttemptCounter,
    CachedToken,
    QuotaLedger,
    RateBuckets,
    TokenStore,
    background,
)
from consent.shared_state.attempts import DatabaseAttempts, MemoryAttempts
from consent.shared_state.buckets import DatabaseBuckets, LeasedBuckets, MemoryBuckets
from consent.shared_state.quota import (
    CONTENDED_WAIT,
    DatabaseLedger,
    MemoryLedger,
    SlidingWindow,
)
from consent.shared_state.quota_leases import LeasedLedger
from consent.shared_state.tokens import DatabaseTokens, MemoryTokens
from tests.conftest import T0
from tests.shared_state.conftest import Backend, Seconds
from tests.support.databases import PostgresFactory

SECRET = bytes(range(32))


def counters(backend: Backend, limit: int = 3) -> Callable[[], AttemptCounter]:
    single = MemoryAttempts(limit, timedelta(minutes=15), backend.clock)
    if backend.kind == "memory":
        return lambda: single
    return lambda: DatabaseAttempts(backend.database(), "login-account", limit,
                                    timedelta(minutes=15), backend.clock)


def buckets(backend: Backend, rate: float = 2.0, burst: int = 4) -> Callable[[], RateBuckets]:
    single = MemoryBuckets(rate, burst, seconds=backend.seconds)
    if backend.kind == "memory":
        return lambda: single
    # What replicas use: leases of the shared bucket (of one token at these small rates, so
    # the contract is exactly the shared bucket's).
    return lambda: LeasedBuckets(DatabaseBuckets(backend.database(), "recipient", rate, burst,
                                                 seconds=backend.seconds),
                                 seconds=backend.seconds)


class Trips:
    """Round trips to the shared bucket, counted across the replicas of one test."""

    def __init__(self) -> None:
        self.count = 0


class CountedBuckets(DatabaseBuckets):
    """A replica's handle on the shared ``recipient`` bucket that counts its round trips."""

    def __init__(self, backend: Backend, trips: Trips, rate: float, burst: int) -> None:
        super().__init__(backend.database(), "recipient", rate, burst, seconds=backend.seconds)
        self.trips = trips

    async def take_up_to(self, key: str, n: int) -> tuple[int, float]:
        self.trips.count += 1
        return await super().take_up_to(key, n)


def ledgers(backend: Backend) -> Callable[[], QuotaLedger]:
    """Two windows: 3 per second and 5 per 10 seconds (no margin, to keep numbers round)."""
    def windows() -> list[SlidingWindow]:
        return [SlidingWindow(3, timedelta(seconds=1), margin=0, name="t/app/3per1s"),
                SlidingWindow(5, timedelta(seconds=10), margin=0, name="t/app/5per10s")]

    single = MemoryLedger(windows(), seconds=backend.seconds)
    if backend.kind == "memory":
        return lambda: single
    # What replicas use: leases (of one start at these small quotas, so the contract is
    # exactly the shared ledger's; tests/shared_state/test_quota_leases.py leases more).
    return lambda: LeasedLedger(
        DatabaseLedger(backend.database(), windows(), seconds=backend.seconds),
        seconds=backend.seconds)


def stores(backend: Backend) -> Callable[[], TokenStore]:
    single = MemoryTokens()
    if backend.kind == "memory":
        return lambda: single
    return lambda: DatabaseTokens(backend.database(), SECRET)


# ---- attempt counters (login throttle) -------------------------------------------------------

async def test_attempts_allow_up_to_the_limit_then_say_how_long_to_wait(
        backend: Backend) -> None:
    make = counters(backend)
    first, second = make(), make()
    for _ in range(2):
        await first.record("alice")
        backend.clock.advance(timedelta(minutes=1))
    assert await second.retry_after("alice") is None
    await second.record("alice")  # the third, on "another replica"

    assert await first.retry_after("alice") == timedelta(minutes=13)  # first + 15 min - now
    assert await first.retry_after("bob") is None
    backend.clock.advance(timedelta(minutes=13))
    assert await second.retry_after("alice") is None  # the oldest left the window


async def test_attempts_clear_forgets_one_key_only(backend: Backend) -> None:
    make = counters(backend, limit=1)
    counter = make()
    await counter.record("alice")
    await counter.record("198.51.100.7")

    await make().clear("alice")

    assert await counter.retry_after("alice") is None
    assert await counter.retry_after("198.51.100.7") is not None


# ---- token buckets (per-recipient rate) ------------------------------------------------------

async def test_a_bucket_spends_its_burst_then_refills_at_the_rate(backend: Backend) -> None:
    make = buckets(backend, rate=2.0, burst=4)
    first, second = make(), make()
    assert [await (first if i % 2 else second).take("app") for i in range(4)] == [0.0] * 4
    assert await first.take("app") == pytest.approx(0.5)  # one token every 1/rate s
    assert await first.take("other-app") == 0.0
    backend.seconds.now += 0.5
    assert await second.take("app") == 0.0
    assert await second.take("app") == pytest.approx(0.5)
    backend.seconds.now += 3600  # idle for long: full again, never more than the burst
    assert [await first.take("app") for _ in range(5)].count(0.0) == 4


async def test_concurrent_takes_never_spend_more_than_the_bucket_holds(backend: Backend) -> None:
    make = buckets(backend, rate=1.0, burst=5)
    replicas = [make() for _ in range(3)]

    waits = await asyncio.gather(*(replicas[i % 3].take("app") for i in range(15)))

    assert waits.count(0.0) == 5


@pytest.mark.postgres
async def test_leases_spend_the_shared_bucket_a_few_tokens_per_round_trip(
        postgres_factory: PostgresFactory, clock: FrozenClock) -> None:
    backend = Backend("postgresql", clock, Seconds(), postgres_factory.create())
    trips = Trips()

    def replica() -> LeasedBuckets:
        return LeasedBuckets(CountedBuckets(backend, trips, 100.0, 40), seconds=backend.seconds)

    first, second = replica(), replica()
    assert first.lease == 10  # a tenth of a second of 100/s, under a quarter of the burst
    waits = [await (first if i % 3 else second).take("app") for i in range(100)]
    # The clock stands still: never more than the burst across both replicas...
    assert waits.count(0.0) == 40
    assert all(w == pytest.approx(0.01) for w in waits if w)  # then one token per 1/rate s
    assert trips.count <= 6  # ...in a few round trips: 4 leases, then one refusal per replica
    backend.seconds.now += 1.0  # leases expire after `hold`; the shared bucket has refilled
    assert await second.take("app") == 0.0
    # Concurrent requests of one replica share one lease in flight instead of each taking one
    # (which would empty the bucket for nothing and refuse the rest).
    trips.count = 0
    third = replica()
    waits = await asyncio.gather(*(third.take("burst") for _ in range(10)))
    assert waits == [0.0] * 10
    assert trips.count == 2  # one lease for all ten, and (spent that fast) the next one ahead
    for leased in (first, second, third):
        await leased.close()  # the lease ahead lands before its pool is disposed
    for db in backend.databases:
        await db.dispose()


@pytest.mark.postgres
async def test_a_lease_spent_fast_is_renewed_ahead_and_an_occasional_one_is_not(
        postgres_factory: PostgresFactory, clock: FrozenClock) -> None:
    backend = Backend("postgresql", clock, Seconds(), postgres_factory.create())
    foreground: list[int] = []  # the lease each take waited for (0: none)

    trips = Trips()
    busy = LeasedBuckets(CountedBuckets(backend, trips, 100.0, 400), seconds=backend.seconds)
    assert busy.lease == 10
    for _ in range(35):  # a recipient spending its leases fast, the clock 5 ms apart
        before = trips.count
        assert await busy.take("app") == 0.0
        foreground.append(trips.count - before)
        # 5 ms apart on the event loop's clock too: a lease ahead is asked for after half the
        # time until it is needed (``background.ahead_delay``), then lands in the background.
        await asyncio.sleep(0.005)
        backend.seconds.now += 0.005
    await asyncio.sleep(0.02)  # the last lease ahead, due 15 ms after the 35th take
    assert foreground[0] == 1  # the first lease is waited for...
    assert sum(foreground[1:]) == 0  # ...every later one was taken ahead
    # A lease ahead each time half a lease is left: after the 5th, 15th, 25th and 35th take.
    assert trips.count == 5

    trips.count = 0
    occasional = LeasedBuckets(CountedBuckets(backend, trips, 100.0, 400),
                               seconds=backend.seconds)
    for _ in range(3):  # a recipient asking once a second: one lease each, never ahead
        assert await occasional.take("other") == 0.0
        for _ in range(5):
            await asyncio.sleep(0)
        backend.seconds.now += 1.0
    assert trips.count == 3
    await busy.close()
    await occasional.close()
    for db in backend.databases:
        await db.dispose()


# ---- quota ledgers (upstream quota) ----------------------------------------------------------

async def test_a_ledger_starts_a_call_only_when_every_window_has_room(backend: Backend) -> None:
    make = ledgers(backend)
    first, second = make(), make()
    granted = [await (first if i % 2 else second).take() for i in range(3)]
    assert granted == [0.0, 0.0, 0.0]
    assert await first.take() == pytest.approx(1.0)  # the 3-per-second window is full
    backend.seconds.now += 1.0
    assert [await second.take() for _ in range(3)] == [0.0, 0.0, pytest.approx(9.0)]
    # 5 started in 10 s: the second window holds the next call until the first start is 10 s
    # old, and the refusals counted nothing anywhere.
    assert await first.headroom() == {"t/app/3per1s": (1, 3), "t/app/5per10s": (0, 5)}
    backend.seconds.now += 9.0
    assert await first.take() == 0.0


async def test_concurrent_replicas_never_start_more_calls_than_a_window_allows(
        backend: Backend) -> None:
    make = ledgers(backend)
    replicas = [make() for _ in range(3)]

    async def take(ledger: QuotaLedger) -> float:
        """As the limiter does: a "come back at once" (another replica held the row) is
        retried; a real wait is an answer."""
        wait = await ledger.take()
        while 0 < wait <= CONTENDED_WAIT:
            wait = await ledger.take()
        return wait

    waits = await asyncio.gather(*(take(replicas[i % 3]) for i in range(12)))

    assert waits.count(0.0) == 3
    assert all(w == pytest.approx(1.0) for w in waits if w != 0.0)
    assert (await replicas[0].headroom())["t/app/5per10s"] == (2, 5)


async def test_a_hold_fills_the_named_windows_until_it_ends_and_frees_nothing(
        backend: Backend) -> None:
    make = ledgers(backend)
    first, second = make(), make()
    assert await first.take() == 0.0
    backend.seconds.now += 0.5

    await first.hold(2.0, {"t/app/3per1s"})  # a 429 with Retry-After: 2

    assert await second.take() == pytest.approx(2.0)  # on every replica, nothing counted
    assert await second.headroom() == {"t/app/3per1s": (0, 3), "t/app/5per10s": (4, 5)}
    await second.hold(0.5, {"t/app/3per1s"})  # a shorter hold never shortens a longer one
    assert await first.take() == pytest.approx(2.0)
    backend.seconds.now += 2.0
    assert [await second.take() for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(1.0)]
    # The start before the hold still counts in the 10-second window: 4 of 5 spent.
    assert (await first.headroom())["t/app/5per10s"] == (1, 5)


# ---- token stores (upstream application token) -----------------------------------------------

async def test_a_token_store_shares_replaces_and_discards_only_the_refused_value(
        backend: Backend) -> None:
    make = stores(backend)
    first, second = make(), make()
    key = "http://dso.example/oauth/token|passerelle|"
    assert await first.get(key) is None
    await first.put(key, CachedToken("tok-1", T0 + timedelta(hours=1)))
    assert await second.get(key) == CachedToken("tok-1", T0 + timedelta(hours=1))

    await second.put(key, CachedToken("tok-2", T0 + timedelta(hours=2)))
    await first.discard(key, "tok-1")  # a stale refusal must not drop the new token
    assert await first.get(key) == CachedToken("tok-2", T0 + timedelta(hours=2))
    await first.discard(key, "tok-2")
    assert await second.get(key) is None
    assert "tok" not in repr(CachedToken("tok-3", T0))


async def test_a_token_renewal_is_held_by_one_replica_at_a_time(backend: Backend) -> None:
    make = stores(backend)
    key = "http://dso.example/oauth/token|passerelle|"
    steps: list[str] = []

    async def renew(store: TokenStore, name: str) -> None:
        async with store.renewal(key):
            steps.append(f"{name} holds")
            await asyncio.sleep(0.05)  # the token endpoint's round trip
            steps.append(f"{name} leaves")

    await asyncio.gather(renew(make(), "a"), renew(make(), "b"))
    assert steps in (["a holds", "a leaves", "b holds", "b leaves"],
                     ["b holds", "b leaves", "a holds", "a leaves"])


@pytest.mark.postgres
async def test_a_refused_renewal_is_not_asked_again_before_the_bucket_can_give(
        postgres_factory: PostgresFactory, clock: FrozenClock) -> None:
    backend = Backend("postgresql", clock, Seconds(), postgres_factory.create())
    trips = Trips()
    shared = CountedBuckets(backend, trips, 100.0, 40)
    replica = LeasedBuckets(shared, seconds=backend.seconds)
    assert await replica.take("app") == 0.0  # a lease of 10, 9 left
    await shared.take_up_to("app", 30)  # another replica empties the shared bucket
    trips.count = 0
    for _ in range(9):  # the lease's rest; half-way, a renewal ahead is refused
        assert await replica.take("app") == 0.0
        for _ in range(5):
            await asyncio.sleep(0)
    assert trips.count == 1  # not one refused renewal per request after that
    assert await replica.take("app") == pytest.approx(0.01)  # what the refusal said
    await replica.close()
    for db in backend.databases:
        await db.dispose()


@pytest.mark.postgres
async def test_a_lease_ahead_waits_for_the_request_to_be_answered_unless_a_request_needs_it(
        postgres_factory: PostgresFactory, clock: FrozenClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for at once, its statement ran within the deciding request's answer: it is due
    ``AFTER_REQUEST`` later (30 s here: never, within this test), or half the time until it is
    needed (5 tokens left, 0.45 s apart: 1.35 s); a request finding the lease spent asks for
    it at once. Closing then drops the next one, not asked for yet, and its waiters."""
    monkeypatch.setattr(background, "AFTER_REQUEST", 30.0)
    backend = Backend("postgresql", clock, Seconds(), postgres_factory.create())
    trips = Trips()
    leased = LeasedBuckets(CountedBuckets(backend, trips, 100.0, 400), seconds=backend.seconds)
    for _ in range(5):  # a lease of 10; half of it spent: the next one decided
        assert await leased.take("app") == 0.0
        backend.seconds.now += 0.45
    await asyncio.sleep(0)
    assert trips.count == 1  # due, not asked for
    for _ in range(5):  # the rest of the lease: no round trip
        assert await leased.take("app") == 0.0
    assert trips.count == 1
    async with asyncio.timeout(1.0):  # well before it is due
        assert await leased.take("app") == 0.0
    assert trips.count == 2

    for _ in range(4):  # 9 + 10 - 5: the next one is decided again
        assert await leased.take("app") == 0.0
        backend.seconds.now += 0.45
    assert leased._ahead
    await leased.close()
    assert not leased._ahead
    assert trips.count == 2
    for db in backend.databases:
        await db.dispose()


@pytest.mark.postgres
async def test_closing_the_leased_buckets_lets_a_lease_ahead_land_or_cancels_it(
        postgres_factory: PostgresFactory, clock: FrozenClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A lease ahead holds a pooled connection: closing (the recipient limits', at shutdown)
    waits for it before the pool is disposed, up to ``FINISH_WAIT``, then cancels it."""
    monkeypatch.setattr(background, "FINISH_WAIT", 0.05)
    backend = Backend("postgresql", clock, Seconds(), postgres_factory.create())
    gate = asyncio.Event()

    class Gated(CountedBuckets):
        async def take_up_to(self, key: str, n: int) -> tuple[int, float]:
            if self.trips.count:  # every lease after the first: held up on its way
                await gate.wait()
            return await super().take_up_to(key, n)

    for lands in (True, False):
        gate.clear()
        trips = Trips()
        leased = LeasedBuckets(Gated(backend, trips, 100.0, 400), seconds=backend.seconds)
        for _ in range(6):  # a lease of 10; half of it spent: the next one asked for ahead
            assert await leased.take("app") == 0.0
        [ahead] = [due.task for due in leased._ahead.values()]  # asked for at once: no
        assert ahead is not None  # time passed between the takes
        if lands:
            gate.set()
        await leased.close()
        assert ahead.done()
        assert ahead.cancelled() is not lands
    for db in backend.databases:
        await db.dispose()

"""Leased quota starts (PostgreSQL): several starts per round trip, never more calls.

The contract suite (``test_contract.py``, ``test_limiter.py``) runs the leased ledger with the
documented DSO quotas, where a lease is one start. Here the quotas are large enough to lease:
the statement that takes several starts at once, the leases' sizes, their expiry and a 429,
and the property that matters: replicas spending leases never start more calls in any window
than it allows (the starts being counted at the lease's end, not when they are made).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Collection
from datetime import timedelta
from typing import Any

import pytest

from consent.shared_state import background, quota_ledger
from consent.shared_state.quota import CONTENDED_WAIT, DatabaseLedger, SlidingWindow
from consent.shared_state.quota_leases import LeasedLedger
from consent.storage import Database
from tests.shared_state.conftest import Seconds
from tests.support.databases import PostgresFactory

pytestmark = pytest.mark.postgres

Replica = Callable[..., DatabaseLedger]


def window(limit: int, seconds: float, name: str) -> SlidingWindow:
    return SlidingWindow(limit, timedelta(seconds=seconds), margin=0, name=name)


@pytest.fixture
async def replica(postgres_factory: PostgresFactory,
                  seconds: Seconds) -> AsyncIterator[Replica]:
    """Builds a replica's shared ledger (its own :class:`Database`) on one database."""
    url = postgres_factory.create()
    databases: list[Database] = []

    def make(*windows: SlidingWindow) -> DatabaseLedger:
        databases.append(Database.from_url(url))
        return DatabaseLedger(databases[-1], list(windows), seconds=seconds)

    yield make
    # Leases taken ahead still on their way use the databases: let them land first.
    pending = asyncio.all_tasks() - {asyncio.current_task()}
    if pending:
        await asyncio.wait(pending, timeout=5)
    for db in databases:
        await db.dispose()
    postgres_factory.drop(url)


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


async def test_several_starts_are_taken_at_once_in_every_window_and_counted_when_they_end(
        replica: Replica, seconds: Seconds) -> None:
    ledger = replica(window(100, 1, "t/fast"), window(6, 10, "t/slow"))

    assert await ledger.take_up_to(4, lasting=0.1) == (4, 0.0)
    assert await ledger.take_up_to(4, lasting=0.1) == (2, 0.0)  # the slow window had 2 left
    assert await ledger.headroom() == {"t/fast": (94, 100), "t/slow": (0, 6)}
    taken, wait = await ledger.take_up_to(4)
    assert taken == 0
    assert wait == pytest.approx(10.1)  # counted at +0.1, aged out 10 s later

    seconds.now += 10.05  # a start made now + 0.1 has not aged out of the slow window yet
    assert (await ledger.headroom())["t/slow"] == (0, 6)
    seconds.now += 0.05
    assert await ledger.headroom() == {"t/fast": (100, 100), "t/slow": (6, 6)}
    assert await ledger.take_up_to(8) == (6, 0.0)  # the ring's aged-out slots, reused


async def test_a_take_that_finds_every_aged_slot_locked_elsewhere_counts_nothing(
        replica: Replica) -> None:
    first = replica(window(2, 1, "t/tiny"))
    assert await first.take_up_to(2) == (2, 0.0)
    taken, wait = await first.take_up_to(1)
    assert taken == 0
    assert wait > CONTENDED_WAIT
    assert await first.headroom() == {"t/tiny": (0, 2)}


async def test_leases_grow_with_demand_and_the_database_counts_every_leased_start(
        replica: Replica, seconds: Seconds) -> None:
    leased = LeasedLedger(replica(window(1000, 1, "t/big")), seconds=seconds)
    assert leased.largest == 100  # a tenth of a second of the rate (under a quarter)

    assert [await leased.take() for _ in range(50)] == [0.0] * 50

    # 1 alone, then leases of 2, 4, 8, 16 and 32 spent to the last start but the 50th's lease.
    assert await leased.headroom() == {"t/big": (1000 - 63, 1000)}
    assert [await leased.take() for _ in range(13)] == [0.0] * 13  # the last lease's rest
    assert await leased.headroom() == {"t/big": (1000 - 63, 1000)}


async def test_a_lease_expires_unspent_and_the_next_one_shrinks_to_what_was_used(
        replica: Replica, seconds: Seconds) -> None:
    leased = LeasedLedger(replica(window(1000, 1, "t/big")), seconds=seconds)
    for _ in range(4):  # 1 alone, 2, then a lease of 4 of which 1 is spent
        await leased.take()
    assert await leased.headroom() == {"t/big": (993, 1000)}

    seconds.now += 0.1  # the lease may no longer be spent: its starts stay counted
    assert await leased.take() == 0.0
    assert await leased.headroom() == {"t/big": (992, 1000)}  # a new start: a lease of 1


async def test_a_429_drops_the_lease(replica: Replica, seconds: Seconds) -> None:
    leased = LeasedLedger(replica(window(1000, 1, "t/big")), seconds=seconds)
    for _ in range(4):
        await leased.take()  # two starts of a lease of 4 left

    await leased.hold(2.0, {"t/big"})

    assert await leased.take() == pytest.approx(2.0)


async def test_the_documented_quotas_are_not_leased(replica: Replica) -> None:
    enedis = LeasedLedger(replica(window(5, 1, "enedis/app/5per1s"),
                                  window(10_000, 3600, "enedis/app/10000per3600s")))
    assert enedis.largest == 1
    assert isinstance(quota_ledger(enedis.shared.db, enedis.windows), LeasedLedger)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_replicas_spending_leases_never_start_more_calls_than_a_window_allows(
        replica: Replica, seconds: Seconds, seed: int) -> None:
    windows = (window(100, 1, "t/second"), window(1500, 10, "t/ten-seconds"))
    replicas = [LeasedLedger(replica(*windows), seconds=seconds) for _ in range(3)]
    assert replicas[0].largest == 10  # leases of up to 10 starts, in both windows
    rng = random.Random(seed)
    starts: list[float] = []

    async def call(ledger: LeasedLedger) -> None:
        if await ledger.take() == 0.0:
            starts.append(seconds.now)  # the call is made now, whatever the ledger counted

    for _ in range(400):
        busy = rng.sample(replicas, rng.randint(1, 3))
        await asyncio.gather(*(call(ledger) for ledger in busy for _ in range(rng.randint(1, 8))))
        seconds.now += rng.choice([0.0, 0.001, 0.01, 0.03, 0.09, 0.2])

    for ledger in replicas:
        await ledger.settled()
    assert sum(ledger.taken_ahead for ledger in replicas) > 0  # the property covers them
    starts.sort()
    for w in windows:
        busiest = max(sum(1 for s in starts if t <= s < t + w.period) for t in starts)
        assert busiest <= w.limit, (w.name, busiest)
    # The bounds are reached, not met by starving the callers.
    assert max(sum(1 for s in starts if t <= s < t + 1) for t in starts) >= 80


async def test_no_start_is_taken_while_a_429_is_being_held(replica: Replica,
                                                           seconds: Seconds) -> None:
    """Found by review: the 429 is heard (``hold``) a round trip or three before its hold is in
    the shared rings. Meanwhile a lease in flight, and whoever waited for it, took a start
    from the shared ledger at once, which still had room: a DSO call sent right after the DSO
    said stop. Every start of the lane now waits for the hold to land first."""
    gate = asyncio.Event()
    lease_back = asyncio.Event()
    asked: list[bool] = []  # per round trip for starts: was a hold in flight?

    class Slow(DatabaseLedger):
        holding = False

        async def take_up_to(self, n: int, *, lasting: float = 0.0) -> tuple[int, float]:
            asked.append(self.holding)
            try:
                return await super().take_up_to(n, lasting=lasting)
            finally:
                lease_back.set()

        async def hold(self, seconds: float, names: Collection[str]) -> None:
            self.holding = True
            await gate.wait()  # the hold's transaction, still on its way
            await super().hold(seconds, names)
            self.holding = False

    big = window(1000, 1, "t/big")
    shared = Slow(replica(big).db, [big], seconds=seconds)
    leased = LeasedLedger(shared, seconds=seconds)
    assert [await leased.take() for _ in range(3)] == [0.0] * 3  # 1 alone, then a lease of 2
    asked.clear()
    lease_back.clear()

    first = asyncio.create_task(leased.take())  # a lease of 4, in flight
    await asyncio.sleep(0)
    held = asyncio.create_task(leased.hold(2.0, {"t/big"}))  # the DSO answered 429
    second = asyncio.create_task(leased.take())  # waits for the lease in flight
    await lease_back.wait()
    for _ in range(20):  # whatever the lane does next without the database answering
        await asyncio.sleep(0)
    gate.set()
    await held

    results = [await first, await second]
    assert asked[0] is False  # the lease, asked before the 429
    assert not any(asked[1:])  # nothing asked again before the hold was in place
    assert results == [pytest.approx(2.0)] * 2  # then the hold's wait, for both


class Asked(DatabaseLedger):
    """Records, for each round trip for starts, whether a request waited for it ("asked") or
    it was the lease taken ahead in the background ("ahead")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []
        self.asked_at: list[float] = []  # the event loop's time of each
        self.leased: LeasedLedger | None = None
        self.gate: asyncio.Event | None = None  # when set: leases ahead wait for it

    async def take_up_to(self, n: int, *, lasting: float = 0.0) -> tuple[int, float]:
        assert self.leased is not None
        ahead = (self.leased._ahead is not None
                 and asyncio.current_task() is self.leased._ahead.task)
        self.calls.append("ahead" if ahead else "asked")
        self.asked_at.append(asyncio.get_running_loop().time())
        if ahead and self.gate is not None:
            await self.gate.wait()
        return await super().take_up_to(n, lasting=lasting)


def asked_ledger(replica: Replica, seconds: Seconds, big: SlidingWindow | None = None
                 ) -> tuple[LeasedLedger, Asked]:
    big = big or window(1000, 1, "t/big")
    shared = Asked(replica(big).db, [big], seconds=seconds)
    leased = shared.leased = LeasedLedger(shared, seconds=seconds)
    return leased, shared


async def test_a_lease_in_steady_use_is_followed_by_one_taken_ahead(replica: Replica,
                                                                    seconds: Seconds) -> None:
    """A start every 30 ms, leases living 100 ms: after the first lease, every lease is taken
    ahead, none while a request waits; each start is spent within its lease (the property
    test above covers the windows) and the starts counted stay within twice those made plus
    one lease."""
    leased, shared = asked_ledger(replica, seconds, window(10_000, 10, "t/big"))
    for _ in range(40):
        assert await leased.take() == 0.0
        await leased.settled()  # the round trip ahead lands before the next request
        seconds.now += 0.03
    assert shared.calls[:2] == ["asked", "asked"]  # one start alone, then the first lease
    assert set(shared.calls[2:]) == {"ahead"}
    assert leased.taken_ahead == len(shared.calls) - 2 > 5
    made = 40
    counted = 10_000 - (await leased.headroom())["t/big"][0]  # all within the 10 s window
    assert made <= counted <= 2 * made + leased.largest


async def test_a_lease_taken_ahead_and_not_needed_expires_unspent(replica: Replica,
                                                                  seconds: Seconds) -> None:
    leased, shared = asked_ledger(replica, seconds)
    for _ in range(3):  # 1 alone, then a lease of 2 spent to its end: 4 asked ahead
        await leased.take()
    await leased.settled()
    assert shared.calls == ["asked", "asked", "ahead"]
    assert await leased.headroom() == {"t/big": (1000 - 7, 1000)}

    seconds.now += 0.15  # the lease ahead may no longer be spent: its 4 starts stay counted
    assert await leased.take() == 0.0
    assert shared.calls == ["asked", "asked", "ahead", "asked"]  # a start of its own, alone
    assert await leased.headroom() == {"t/big": (1000 - 8, 1000)}


async def test_a_lease_ahead_landing_after_a_429_is_not_spent(replica: Replica,
                                                              seconds: Seconds) -> None:
    leased, shared = asked_ledger(replica, seconds)
    shared.gate = asyncio.Event()
    for _ in range(3):  # the lease ahead is asked for, and held up on its way
        await leased.take()
    await asyncio.sleep(0)
    assert shared.calls == ["asked", "asked", "ahead"]

    await leased.hold(2.0, {"t/big"})  # the DSO answered 429 meanwhile
    shared.gate.set()
    await leased.settled()  # it lands: 4 starts, counted

    assert await leased.take() == pytest.approx(2.0)  # the hold's wait, not a leased start
    assert leased.taken_ahead == 0


async def test_no_lease_is_taken_ahead_once_a_429_is_heard(replica: Replica,
                                                           seconds: Seconds) -> None:
    """Found by the session's last read: a lease ahead decided just before a 429 is heard, its
    task not yet started, must not take starts while the hold is on its way (the rings still
    have room then), as a lease taken in the foreground does not."""
    leased, shared = asked_ledger(replica, seconds)
    for _ in range(3):  # 1 alone, a lease of 2; its last start decides a lease ahead
        assert await leased.take() == 0.0
    assert leased._ahead is not None
    assert shared.calls == ["asked", "asked"]

    await leased.hold(2.0, {"t/big"})  # heard before the lease ahead's task ran
    await leased.settled()

    assert shared.calls == ["asked", "asked"]
    assert await leased.take() == pytest.approx(2.0)


async def test_closing_lets_a_lease_ahead_land_and_cancels_one_that_does_not(
        replica: Replica, seconds: Seconds, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lease ahead uses a pooled connection: closing (the limiter's, at shutdown) waits for
    it before the pool is disposed, up to ``FINISH_WAIT``, then cancels it."""
    monkeypatch.setattr(background, "FINISH_WAIT", 0.05)
    for lands in (True, False):
        leased, shared = asked_ledger(replica, seconds)
        shared.gate = asyncio.Event()
        for _ in range(3):  # the lease ahead is asked for, and held up on its way
            await leased.take()
        assert leased._ahead is not None
        ahead = leased._ahead.task  # starts alike, not apart: asked for at once
        assert ahead is not None
        if lands:
            shared.gate.set()
        await leased.close()
        assert ahead.done()
        assert ahead.cancelled() is not lands
        assert leased.taken_ahead == int(lands)


def spaced_ledger(replica: Replica, seconds: Seconds) -> tuple[LeasedLedger, Asked]:
    """A ledger whose leases live 1,000 s (of the test's clock), so starts 100 s apart keep
    one alive: three of them (one alone, a lease of 2 spent to its end) decide a lease ahead
    that is needed 100 s later, and so is deferred by the whole ``AFTER_REQUEST``."""
    big = window(10**6, 10**4, "t/big")
    shared = Asked(replica(big).db, [big], seconds=seconds)
    leased = shared.leased = LeasedLedger(shared, spend_within=1000, seconds=seconds)
    return leased, shared


async def test_a_lease_ahead_is_asked_for_once_the_deciding_request_is_answered(
        replica: Replica, seconds: Seconds, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its statement started at once ran within that request's answer (its next ``await``,
    the DSO call): it starts ``AFTER_REQUEST`` later (200 ms here: a loaded machine's stall
    cannot start it early), then lands as before."""
    monkeypatch.setattr(background, "AFTER_REQUEST", 0.2)
    leased, shared = spaced_ledger(replica, seconds)
    loop = asyncio.get_running_loop()
    for _ in range(3):
        assert await leased.take() == 0.0
        seconds.now += 100
    decided = loop.time()
    await asyncio.sleep(0)
    assert shared.calls == ["asked", "asked"]  # due, not asked for

    await asyncio.sleep(0.3)
    await leased.settled()
    assert shared.asked_at[-1] - decided >= 0.2
    assert shared.calls == ["asked", "asked", "ahead"]
    assert await leased.take() == 0.0  # spent from the lease ahead: no round trip
    assert shared.calls == ["asked", "asked", "ahead"]


async def test_a_caller_needing_a_lease_ahead_before_it_is_due_asks_for_it_at_once(
        replica: Replica, seconds: Seconds, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(background, "AFTER_REQUEST", 30.0)
    leased, shared = spaced_ledger(replica, seconds)
    for _ in range(3):
        assert await leased.take() == 0.0
        seconds.now += 100
    assert leased._ahead is not None
    assert leased._ahead.task is None  # due in 30 s

    async with asyncio.timeout(5):  # the lease is spent: the next start needs the one ahead
        assert await leased.take() == 0.0
    assert shared.calls == ["asked", "asked", "ahead"]
    assert leased.taken_ahead == 1


async def test_closing_drops_a_lease_ahead_not_asked_for_yet(
        replica: Replica, seconds: Seconds, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(background, "AFTER_REQUEST", 30.0)
    leased, shared = spaced_ledger(replica, seconds)
    for _ in range(3):
        await leased.take()
        seconds.now += 100
    await leased.close()
    await asyncio.sleep(0)
    assert shared.calls == ["asked", "asked"]
    assert leased.taken_ahead == 0


@pytest.mark.parametrize(("gap", "remaining", "delay"), [
    (0.04, 0, 0.02),  # 25 starts a second: the whole AFTER_REQUEST, half the gap
    (0.004, 0, 0.002),  # 250 a second: half the time until the lease ahead is needed
    (0.001, 3, 0.002),  # four more starts first
    (0.0, 5, 0.0),  # starts at once: no delay at all
    (float("inf"), 0, 0.02),  # the first start of a lease
])
def test_a_lease_ahead_is_deferred_at_most_half_the_time_until_it_is_needed(
        gap: float, remaining: int, delay: float) -> None:
    assert background.ahead_delay(gap, remaining) == pytest.approx(delay)

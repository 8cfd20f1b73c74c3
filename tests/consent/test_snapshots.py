"""SnapshotCache: forgets on its topics, after its lifetime, and trusts nothing while the bus is
unhealthy; a read that raced an invalidation is never stored."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from consent.invalidation import ALL, FACTS, TOKENS, LocalBus
from consent.snapshots import SnapshotCache


class Ticker:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FlakyBus(LocalBus):
    """A bus whose health the test sets."""

    up = True

    @property
    def healthy(self) -> bool:
        return self.up


def make(bus: LocalBus | None = None, ttl: float = 5.0, max_entries: int = 100_000,
         refresh_delay: float = 0.02) -> tuple[SnapshotCache[str, int], LocalBus, Ticker]:
    bus = bus or LocalBus()
    ticker = Ticker()
    return SnapshotCache(bus, {TOKENS}, ttl=ttl, max_entries=max_entries,
                         refresh_delay=refresh_delay, monotonic=ticker), bus, ticker


def test_a_stored_value_is_served_until_its_lifetime_ends() -> None:
    cache, _, ticker = make()
    cache.put("k", 1, cache.generation())
    assert cache.get("k") == 1
    ticker.now += 4.9
    assert cache.get("k") == 1
    ticker.now += 0.1
    assert cache.get("k") is None
    assert (cache.hits, cache.misses) == (2, 1)


def test_its_topics_and_all_drop_everything_other_topics_do_not() -> None:
    cache, bus, _ = make()
    for topic, dropped in ((FACTS, False), (TOKENS, True), (ALL, True)):
        cache.put("k", 1, cache.generation())
        bus.deliver(topic)
        assert (cache.get("k") is None) is dropped, topic


def test_a_read_that_raced_an_invalidation_is_not_stored() -> None:
    cache, bus, _ = make()
    generation = cache.generation()  # a request starts reading the database...
    bus.deliver(TOKENS)  # ...a revocation commits meanwhile...
    cache.put("k", 1, generation)  # ...its (maybe old) rows must not be remembered
    assert cache.get("k") is None


def test_nothing_is_served_nor_stored_while_the_bus_is_unhealthy() -> None:
    bus = FlakyBus()
    cache, _, _ = make(bus)
    cache.put("k", 1, cache.generation())
    bus.up = False
    assert cache.get("k") is None
    cache.put("k", 2, cache.generation())
    bus.up = True
    assert cache.get("k") is None


def test_a_zero_lifetime_turns_the_cache_off() -> None:
    cache, _, _ = make(ttl=0)
    cache.put("k", 1, cache.generation())
    assert cache.get("k") is None


def test_the_oldest_entry_makes_room() -> None:
    cache, _, _ = make(max_entries=2)
    for n, key in enumerate("abc"):
        cache.put(key, n, cache.generation())
    assert len(cache) == 2
    assert cache.get("a") is None
    assert (cache.get("b"), cache.get("c")) == (1, 2)


def test_expired_entries_leave_memory_when_new_ones_come() -> None:
    """A steady stream of keys never read twice (a soak's fresh days) keeps the cache at one
    lifetime's worth of entries, not at ``max_entries`` of dead ones."""
    cache, _, ticker = make(ttl=5.0)
    for n in range(1000):
        cache.put(f"k{n}", n, cache.generation())
        ticker.now += 0.1
    assert len(cache) <= 51  # 5 s of entries at one per 0.1 s
    assert cache.get("k999") == 999
    cache.put("k950", 1, cache.generation())  # stored again: moves to the end, lives longer
    ticker.now += 4.95
    cache.put("new", 2, cache.generation())
    assert cache.get("k950") == 1


async def test_concurrent_misses_share_one_read() -> None:
    cache, _, _ = make()
    reads = 0
    release = asyncio.Event()

    async def load() -> int:
        nonlocal reads
        reads += 1
        await release.wait()
        return 7

    waiters = [asyncio.ensure_future(cache.fetch("k", load)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == [7] * 5
    assert reads == 1
    assert await cache.fetch("k", load) == 7
    assert reads == 1


async def test_a_request_after_an_invalidation_does_not_join_an_older_read() -> None:
    cache, bus, _ = make()
    reads: list[int] = []
    release = asyncio.Event()

    async def load() -> int:
        reads.append(len(reads))
        await release.wait()
        return len(reads)

    early = asyncio.ensure_future(cache.fetch("k", load))
    await asyncio.sleep(0)
    bus.deliver(TOKENS)  # a revocation commits while the first read is in flight
    late = asyncio.ensure_future(cache.fetch("k", load))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(early, late)
    assert len(reads) == 2  # the late request read again
    assert cache.get("k") == 2  # and only its (newer) read was kept


async def test_a_failed_read_fails_its_waiters_and_is_not_remembered() -> None:
    cache, _, _ = make()

    async def load() -> int:
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        await cache.fetch("k", load)
    assert cache.get("k") is None


async def test_a_value_in_the_second_half_of_its_life_is_read_again_behind_the_scenes() -> None:
    cache, _, ticker = make(refresh_delay=0)
    reads = 0

    async def load() -> int:
        nonlocal reads
        reads += 1
        return reads

    assert await cache.fetch("k", load) == 1
    ticker.now += 2.0
    assert await cache.fetch("k", load) == 1  # young: served, not read again
    await asyncio.sleep(0)
    assert reads == 1
    ticker.now += 1.0  # 3 s of 5: served at once, refreshed in the background
    assert await cache.fetch("k", load) == 1
    await asyncio.sleep(0)
    assert reads == 2
    ticker.now += 4.0  # 4 s after the refresh: still within the refreshed lifetime
    assert await cache.fetch("k", load) == 2


def counting_load() -> tuple[list[int], Callable[[], Awaitable[int]]]:
    reads: list[int] = []

    async def load() -> int:
        reads.append(len(reads) + 1)
        return len(reads)

    return reads, load


async def settle(seconds: float = 0.0) -> None:
    """Let timers due within ``seconds`` fire and the tasks they start run."""
    await asyncio.sleep(seconds)
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_refresh_ahead_starts_after_the_request_that_asked_for_it() -> None:
    # Delays far above a loaded machine's stalls: what is asserted is the order, not timing.
    cache, _, ticker = make(refresh_delay=0.2)
    reads, load = counting_load()
    assert await cache.fetch("k", load) == 1
    ticker.now += 3.0  # second half of its life
    assert await cache.fetch("k", load) == 1
    assert await cache.fetch("k", load) == 1  # asked twice, one refresh due
    await settle()
    assert reads == [1]  # not during this request's own work
    await settle(0.25)
    assert reads == [1, 2]
    assert await cache.fetch("k", load) == 2


async def test_a_read_after_the_entry_expired_drops_the_refresh_due_for_it() -> None:
    cache, _, ticker = make(refresh_delay=0.2)
    reads, load = counting_load()
    await cache.fetch("k", load)
    ticker.now += 4.99  # the last instant of its life: a refresh is due in 200 ms...
    assert await cache.fetch("k", load) == 1
    ticker.now += 0.02  # ...but the entry expires first: the next request reads it
    assert await cache.fetch("k", load) == 2
    await settle(0.25)
    assert reads == [1, 2]  # not read a third time by the refresh that was due


async def test_the_refresh_delay_stays_well_inside_the_lifetime() -> None:
    cache, _, _ = make(ttl=0.04, refresh_delay=1.0)
    assert cache.refresh_delay == pytest.approx(0.01)


async def test_an_invalidation_cancels_a_refresh_not_started_yet() -> None:
    cache, bus, ticker = make(refresh_delay=0.02)
    reads, load = counting_load()
    await cache.fetch("k", load)
    ticker.now += 3.0
    await cache.fetch("k", load)
    bus.deliver(TOKENS)
    await settle(0.05)
    assert reads == [1]  # the next use reads; nothing was read for nobody
    assert await cache.fetch("k", load) == 2


async def test_closing_cancels_refreshes_due_and_lets_reads_in_flight_end() -> None:
    cache, _, ticker = make(refresh_delay=0.2)
    reads, load = counting_load()
    await cache.fetch("k", load)
    ticker.now += 3.0
    await cache.fetch("k", load)  # a refresh of "k" due in 200 ms
    release = asyncio.Event()
    ended: list[str] = []

    async def slow() -> int:
        await release.wait()
        ended.append("slow")
        return 9

    in_flight = asyncio.ensure_future(cache.fetch("other", slow))
    await settle()
    closing = asyncio.ensure_future(cache.close())
    await settle()
    assert not closing.done()  # waits for the read in flight
    release.set()
    await closing
    assert ended == ["slow"]
    assert await in_flight == 9
    await settle(0.25)
    assert reads == [1]  # the refresh due never started
    await cache.fetch("k", load)
    await settle(0.25)
    assert reads == [1]  # nor does any later one

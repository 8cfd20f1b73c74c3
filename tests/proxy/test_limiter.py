"""The shared limiter never lets more calls start than a quota allows, and is fair per recipient."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from adapters.errors import UpstreamRateLimited
from proxy.upstream.limiter import FairLimiter, SlidingWindow


def max_in_any_window(stamps: list[float], period: float) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while t - stamps[j] >= period:
            j += 1
        best = max(best, i - j + 1)
    return best


async def test_concurrent_callers_never_exceed_any_quota() -> None:
    fast = SlidingWindow(5, timedelta(milliseconds=100))
    slow = SlidingWindow(12, timedelta(milliseconds=400))
    limiter = FairLimiter([fast, slow], max_wait=5)
    stamps: list[float] = []

    async def call(recipient: str) -> None:
        await limiter.acquire(recipient)
        stamps.append(time.monotonic())

    await asyncio.gather(*(call(f"app-{i % 4}") for i in range(30)))
    assert len(stamps) == 30
    assert max_in_any_window(stamps, 0.1) <= 5
    assert max_in_any_window(stamps, 0.4) <= 12
    assert limiter.granted == 30


def test_the_window_margin_is_conservative() -> None:
    window = SlidingWindow(1, timedelta(seconds=1))
    window.record(100.0)
    assert window.wait(101.0) > 0  # a call exactly one period later could arrive early
    assert window.wait(101.06) == 0


async def test_slots_go_round_robin_across_recipients() -> None:
    limiter = FairLimiter([SlidingWindow(1, timedelta(milliseconds=20))], max_wait=10)
    order: list[str] = []

    async def call(recipient: str) -> None:
        await limiter.acquire(recipient)
        order.append(recipient)

    greedy = [asyncio.create_task(call("greedy")) for _ in range(12)]
    await asyncio.sleep(0)
    polite = [asyncio.create_task(call("polite")) for _ in range(2)]
    await asyncio.gather(*greedy, *polite)
    # The polite recipient's two calls are served among the first few, not after all twelve.
    assert order.index("polite") <= 3
    assert [i for i, r in enumerate(order) if r == "polite"][-1] <= 5


async def test_a_wait_beyond_max_wait_is_refused_with_retry_after() -> None:
    limiter = FairLimiter([SlidingWindow(1, timedelta(hours=1))], max_wait=0.5)
    await limiter.acquire("app-1")
    with pytest.raises(UpstreamRateLimited) as info:
        await limiter.acquire("app-2")
    assert info.value.status == 503
    assert int(info.value.headers["Retry-After"]) >= 3600


async def test_a_waiter_past_its_deadline_is_refused_and_does_not_take_a_slot() -> None:
    window = SlidingWindow(1, timedelta(milliseconds=300))
    limiter = FairLimiter([window], max_wait=0.05)
    limiter.estimate = lambda: 0.0  # type: ignore[method-assign] # force queueing
    await limiter.acquire("a")
    with pytest.raises(UpstreamRateLimited):
        await limiter.acquire("b")
    await asyncio.sleep(0.35)
    assert limiter.granted == 1
    await limiter.acquire("c")
    assert limiter.granted == 2
    await limiter.close()

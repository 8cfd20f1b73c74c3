"""The upstream limiter: never more than a quota, fair across recipients, bounded waits.

The last test is the one that matters: many recipients hammer a real adapter concurrently and the
fake DSO, counting arrivals per window on its side, never sees a quota exceeded (and never has to
answer 429). Quotas are tiny so the run takes about a second.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

import pytest

from adapters.base import Quota
from adapters.errors import UpstreamRateLimited
from adapters.quota import OPERATOR, TokenBucketLimiter, acting_for, current_recipient
from adapters.timekeeping import at_hour
from consent.periods import Period
from consent.vocabulary import Dataset, Resolution
from tests.adapters.support import enedis_world
from tests.contract.harnesses import ENEDIS_CONSENTS, LONG, MOVED

APP = "enedis:test"


def _most_in_a_window(stamps: list[float], period: float) -> int:
    best, first = 0, 0
    for last, at in enumerate(stamps):
        while stamps[first] <= at - period:
            first += 1
        best = max(best, last - first + 1)
    return best


async def test_grants_never_exceed_the_quota_in_any_window() -> None:
    limiter = TokenBucketLimiter()
    limiter.declare(APP, [Quota(3, timedelta(seconds=0.1))])
    stamps: list[float] = []

    async def call() -> None:
        async with limiter.acquire(APP, "measures", "r"):
            stamps.append(time.monotonic())

    await asyncio.gather(*(call() for _ in range(12)))
    assert len(stamps) == 12
    assert _most_in_a_window(sorted(stamps), 0.1) <= 3


async def test_turns_go_round_robin_across_recipients() -> None:
    limiter = TokenBucketLimiter()
    limiter.declare(APP, [Quota(2, timedelta(seconds=0.03))])
    order: list[str] = []

    async def call(recipient: str) -> None:
        async with limiter.acquire(APP, "measures", recipient):
            order.append(recipient)

    greedy = [asyncio.create_task(call("greedy")) for _ in range(16)]
    await asyncio.sleep(0)  # the greedy recipient queued first
    others = [asyncio.create_task(call(name)) for name in ("a", "b", "c") for _ in range(2)]
    await asyncio.gather(*greedy, *others)
    last_other = max(order.index(name) for name in ("a", "b", "c")) + 1
    # Two free slots, then one turn each: the others never wait behind the greedy queue.
    assert order[:last_other].count("greedy") <= 5
    assert len(order) == 22


async def test_a_wait_longer_than_the_bound_is_refused_with_retry_after() -> None:
    limiter = TokenBucketLimiter(max_wait=0.05)
    limiter.declare(APP, [Quota(1, timedelta(seconds=10))])
    async with limiter.acquire(APP, "measures", "r"):
        pass
    with pytest.raises(UpstreamRateLimited) as caught:
        async with limiter.acquire(APP, "measures", "r"):
            pass
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 9


async def test_api_quotas_are_per_api_and_application_quotas_shared() -> None:
    limiter = TokenBucketLimiter(max_wait=0.01)
    limiter.declare(APP, [Quota(1, timedelta(hours=1), "api"), Quota(2, timedelta(hours=1))])
    async with limiter.acquire(APP, "measures", "r"), limiter.acquire(APP, "contracts", "r"):
        pass
    with pytest.raises(UpstreamRateLimited):  # measures' own hourly quota is spent
        async with limiter.acquire(APP, "measures", "r"):
            pass
    with pytest.raises(UpstreamRateLimited):  # and the application's too
        async with limiter.acquire(APP, "addresses", "r"):
            pass


async def test_an_undeclared_application_is_never_called_unlimited() -> None:
    with pytest.raises(UpstreamRateLimited):
        async with TokenBucketLimiter().acquire("nobody", "api", "r"):
            pass


def test_declarations_are_idempotent_and_consistent() -> None:
    limiter = TokenBucketLimiter()
    limiter.declare(APP, [Quota(5, timedelta(seconds=1))])
    limiter.declare(APP, [Quota(5, timedelta(seconds=1))])
    with pytest.raises(ValueError, match="other quotas"):
        limiter.declare(APP, [Quota(6, timedelta(seconds=1))])


def test_replicas_share_the_quota() -> None:
    limiter = TokenBucketLimiter(replicas=3)
    limiter.declare(APP, [Quota(1000, timedelta(hours=1)), Quota(5, timedelta(seconds=1))])
    buckets = limiter._buckets(limiter._apps[APP], "x")
    assert sorted(b.limit for b in buckets) == [1, 333]


def test_the_recipient_is_named_by_the_caller_context() -> None:
    assert current_recipient() == OPERATOR
    with acting_for("dash"):
        assert current_recipient() == "dash"
    assert current_recipient() == OPERATOR


async def test_no_quota_is_exceeded_at_the_dso_under_concurrent_load() -> None:
    """Eight recipients, 40 calls at once over two APIs; Data Connect-like quotas shrunk to
    4 per 0.25 s per application and 12 per second per API, declared alike on both sides."""
    quotas = (Quota(4, timedelta(seconds=0.25)), Quota(12, timedelta(seconds=1), "api"))
    async with enedis_world(limiter=TokenBucketLimiter(max_wait=30),
                            fake={"quotas": quotas}, config={"quotas": quotas}) as world:
        for point, given in ENEDIS_CONSENTS.items():
            granted = world.state.grant((point.identifier,), given, 1095)
            await world.adapter.directory.remember(point, str(granted.autorisation_id))
        day = Period(at_hour(date(2026, 10, 1), "Europe/Paris"),
                     at_hour(date(2026, 10, 2), "Europe/Paris"))

        async def recipient(name: str) -> int:
            done = 0
            with acting_for(name):
                for turn in range(5):
                    if turn % 2:
                        await world.adapter.record(MOVED, Dataset.IDENTITY)
                    else:
                        await world.adapter.series(LONG, Dataset.DAILY_CONSUMPTION, day,
                                                   Resolution.P1D)
                    done += 1
            return done

        results = await asyncio.gather(*(recipient(f"app-{n}") for n in range(8)))
        gate = world.state.gate
    assert results == [5] * 8
    assert all(a.admitted for a in gate.log)  # the DSO never had to answer 429
    assert len(gate.log) == 40
    assert gate.busiest(quotas[0]) <= 4
    assert gate.apis() == {"mesure_synchrone_auto/v2", "situation_contrat_auto/v1"}
    for api in gate.apis():
        assert gate.busiest(quotas[1], api) <= 12

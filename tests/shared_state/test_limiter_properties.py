"""Property: whatever the quotas and the sequence of calls and 429s, the limiter never starts more
calls than a window allows, and never starts one of a held bucket before its Retry-After ends.

Virtual time (the ledger's clock, advanced by the limiter's own waits and by the gaps between
arrivals); the starts are read where the limiter records them (see ``test_limiter.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import Quota
from adapters.limiter import FairLimiter
from adapters.quota import QuotaPlan
from consent.shared_state.quota import MemoryLedger, QuotaLedger, SlidingWindow
from tests.shared_state.conftest import Seconds
from tests.shared_state.test_limiter import Recording, Starts, most_in_a_window

APIS = ("measures", "contracts")

arrivals = st.lists(st.tuples(
    st.floats(0, 0.6),                      # gap since the previous arrival (s)
    st.sampled_from(["call", "call", "call", "429"]),
    st.sampled_from(APIS),
    st.sampled_from(["dash", "coach", "heat"]),
    st.one_of(st.none(), st.floats(0.1, 5.0)),  # Retry-After of a 429
), max_size=30)


@settings(max_examples=60, deadline=None)
@given(app=st.tuples(st.integers(1, 4), st.floats(0.2, 2.0)),
       per_api=st.tuples(st.integers(1, 6), st.floats(0.5, 5.0)), events=arrivals)
async def test_no_window_is_ever_exceeded_nor_a_hold_broken(
        app: tuple[int, float], per_api: tuple[int, float],
        events: list[tuple[float, str, str, str, float | None]]) -> None:
    app_period, api_period = timedelta(seconds=app[1]), timedelta(seconds=per_api[1])
    app = (app[0], app_period.total_seconds())  # what the windows count: whole microseconds
    per_api = (per_api[0], api_period.total_seconds())
    plan = QuotaPlan("dso", (Quota(app[0], app_period), Quota(per_api[0], api_period, "api")),
                     frozenset(APIS))
    clock = Seconds()
    starts: Starts = []

    async def sleep(seconds: float) -> None:
        for _ in range(10):
            await asyncio.sleep(0)
        clock.now += seconds

    def ledgers(windows: Sequence[SlidingWindow]) -> QuotaLedger:
        return Recording(MemoryLedger(windows, seconds=clock), clock, starts)

    limiter = FairLimiter(max_wait=1e9, ledgers=ledgers, margin=0.0, sleep=sleep,
                          seconds=clock)
    holds: list[tuple[str, int, float]] = []  # (api, starts before the hold, hold's end)
    calls = []
    for gap, kind, api, recipient, retry_after in events:
        clock.now += gap
        if kind == "429":
            held = await limiter.backoff(plan, api, retry_after)
            # The DSO's wait when it names one; without one, the shortest window or more
            # (such 429s in a row escalate, one within a running hold adds nothing).
            assert held == retry_after if retry_after else held > 0
            holds.append((api, len(starts), clock.now + held))
        else:
            calls.append(asyncio.create_task(limiter.acquire(plan, api, recipient)))
        await asyncio.sleep(0)
    await asyncio.gather(*calls)
    await limiter.close()

    assert len(starts) == len(calls) == limiter.granted
    assert most_in_a_window([at for _, at in starts], app[1]) <= app[0]
    for api in APIS:
        mine = [at for names, at in starts if any(f"/{api}/" in n for n in names)]
        assert most_in_a_window(mine, per_api[1]) <= per_api[0]
    for api, before, until in holds:
        later = [at for names, at in starts[before:] if any(f"/{api}/" in n for n in names)]
        assert all(at >= until - 1e-6 for at in later)

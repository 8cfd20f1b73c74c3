"""The shared ledgers count on the database's clock, never on a replica's (PostgreSQL).

The DSO quota rings leave only the window's margin as slack (5 %: 50 ms of Data Connect's 5
calls a second). When each replica sent its own ``time.time()``, a replica whose clock ran
100 ms ahead saw the others' starts age out 100 ms early, and the instance sent the DSO more
than its quota within one real second. The other suites simulate time (``seconds=``); these
build the ledgers as :func:`consent.shared_state.quota_ledger` does and use real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from consent.shared_state.buckets import DatabaseBuckets
from consent.shared_state.quota import DatabaseLedger, SlidingWindow
from consent.storage import Database

pytestmark = pytest.mark.postgres


def five_a_second(attempt: int = 0) -> list[SlidingWindow]:
    return [SlidingWindow(5, timedelta(seconds=1), name=f"enedis:app/app/5per1s/{attempt}")]


#: Attempts at the scenario below: on a loaded machine B's calls may come too late to meet
#: A's starts in the window, and then the attempt proves nothing.
ATTEMPTS = 5


async def test_replicas_whose_clocks_disagree_never_exceed_the_dso_quota(
        pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    other = Database.from_url(pg.engine.url.render_as_string(hide_password=False))
    real = time.time
    try:
        for attempt in range(ATTEMPTS):
            ledgers = DatabaseLedger(pg, five_a_second(attempt)), DatabaseLedger(
                other, five_a_second(attempt))
            starts, waits, met = await _a_then_b_ahead(*ledgers, monkeypatch, real)
            in_one_second = max(sum(1 for s in starts if t <= s < t + 1.0) for t in starts)
            assert in_one_second <= 5, f"{in_one_second} DSO calls within one real second"
            if met:
                break
        else:
            pytest.fail(f"B's calls never met A's starts in the window in {ATTEMPTS} attempts "
                        "(machine too loaded)")
    finally:
        await other.dispose()
    assert 0.0 < max(waits) <= 1.05  # A's oldest start ages out on the database's clock


async def _a_then_b_ahead(
        a: DatabaseLedger, b: DatabaseLedger, monkeypatch: pytest.MonkeyPatch,
        real: Callable[[], float]) -> tuple[list[float], list[float], bool]:
    """A starts five calls; 0.97 s later B, its clock 100 ms ahead, asks for five more.

    Returns the real (monotonic) instants of the calls the ledgers let start, B's waits, and
    whether B's calls all came while A's starts were still inside the window.
    """
    starts: list[float] = []
    first = time.monotonic()
    for _ in range(5):
        if await a.take() == 0.0:
            starts.append(time.monotonic())
    await asyncio.sleep(max(0.0, first + 0.97 - time.monotonic()))
    monkeypatch.setattr(time, "time", lambda: real() + 0.1)  # B's clock: 100 ms ahead
    try:
        waits = [await b.take() for _ in range(5)]
    finally:
        monkeypatch.undo()
    met = time.monotonic() < first + 1.0
    starts += [time.monotonic() for wait in waits if wait == 0.0]
    return starts, waits, met


async def test_a_rate_bucket_refills_on_the_database_clock(pg: Database) -> None:
    other = Database.from_url(pg.engine.url.render_as_string(hide_password=False))
    try:
        a = DatabaseBuckets(pg, "recipient", rate=1.0, burst=1)
        b = DatabaseBuckets(other, "recipient", rate=1.0, burst=1)
        before = time.monotonic()
        assert await a.take("app") == 0.0
        wait = await b.take("app")  # the other replica: the bucket is empty for everyone
        elapsed = time.monotonic() - before
        async with pg.engine.connect() as conn:
            updated, now = (await conn.execute(sa.text(
                "SELECT updated, EXTRACT(EPOCH FROM clock_timestamp()) FROM rate_bucket"))).one()
    finally:
        await other.dispose()

    # The bucket refilled during the two statements only (on a loaded machine, more than the
    # usual few milliseconds): never from a replica's own clock.
    assert 1.0 - elapsed - 0.01 < wait <= 1.0
    assert 0.0 <= float(now) - updated < 1.0  # written from the database's clock

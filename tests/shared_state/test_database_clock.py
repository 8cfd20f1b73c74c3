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
from datetime import timedelta

import pytest
import sqlalchemy as sa

from consent.shared_state.buckets import DatabaseBuckets
from consent.shared_state.quota import DatabaseLedger, SlidingWindow
from consent.storage import Database

pytestmark = pytest.mark.postgres


def five_a_second() -> list[SlidingWindow]:
    return [SlidingWindow(5, timedelta(seconds=1), name="enedis:app/app/5per1s")]


async def test_replicas_whose_clocks_disagree_never_exceed_the_dso_quota(
        pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    other = Database.from_url(pg.engine.url.render_as_string(hide_password=False))
    a, b = DatabaseLedger(pg, five_a_second()), DatabaseLedger(other, five_a_second())
    real = time.time
    starts: list[float] = []  # real (monotonic) instants of the calls the ledgers let start
    try:
        first = time.monotonic()
        for _ in range(5):
            if await a.take() == 0.0:
                starts.append(time.monotonic())
        await asyncio.sleep(max(0.0, first + 0.97 - time.monotonic()))
        monkeypatch.setattr(time, "time", lambda: real() + 0.1)  # B's clock: 100 ms ahead
        waits = [await b.take() for _ in range(5)]
        starts += [time.monotonic() for wait in waits if wait == 0.0]
    finally:
        monkeypatch.undo()
        await other.dispose()

    in_one_second = max(sum(1 for s in starts if t <= s < t + 1.0) for t in starts)
    assert in_one_second <= 5, f"{in_one_second} DSO calls within one real second"
    assert 0.0 < max(waits) <= 1.05  # A's oldest start ages out on the database's clock


async def test_a_rate_bucket_refills_on_the_database_clock(pg: Database) -> None:
    other = Database.from_url(pg.engine.url.render_as_string(hide_password=False))
    try:
        a = DatabaseBuckets(pg, "recipient", rate=1.0, burst=1)
        b = DatabaseBuckets(other, "recipient", rate=1.0, burst=1)
        assert await a.take("app") == 0.0
        wait = await b.take("app")  # the other replica: the bucket is empty for everyone
        async with pg.engine.connect() as conn:
            updated, now = (await conn.execute(sa.text(
                "SELECT updated, EXTRACT(EPOCH FROM clock_timestamp()) FROM rate_bucket"))).one()
    finally:
        await other.dispose()

    assert 0.9 < wait <= 1.0
    assert 0.0 <= float(now) - updated < 1.0  # written from the database's clock

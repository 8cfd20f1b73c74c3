"""What the evidence log adds to the data path's durable step: the access-event group-commit
sink alone, against the same sink writing each batch's evidence leaves in the same transaction.

Both run in this one invocation, on the same database backend, with the same closed-loop load
(``--concurrency`` request tasks appending ``--events`` access events, as the data path does:
each waits for its own event to be durable). Printed: events/s of each, their ratio, the mean
wait per event, and transactions (batches) per event.

``--consents`` sets how many consents the events name, in turn (20 by default: every one soon
known to the writer; as many as there are events: each event names a consent the writer has
never seen, as at a large instance whose readers outnumber its caches).

Run: ``python bench/bench_access_trail.py [--postgres] [--events 5000] [--concurrency 32]
[--consents 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proxy_world import DurablePostgres
from consent.access_events import AccessEvent, GroupCommitSink, Outcome
from consent.evidence.access_trail import AccessTrail
from consent.evidence.log import EvidenceLog
from consent.storage import Database

CONSENTS = [str(uuid.uuid4()) for _ in range(20)]


def event(i: int) -> AccessEvent:
    at = datetime.now(UTC)
    return AccessEvent(
        at=at, request_id=f"r{i:08d}", api="native",
        route="/api/v1/points/{point_id}/datasets/{dataset}", outcome=Outcome.SERVED,
        status=200, body_sha256="ab" * 32, recipient_id="r-bench",
        consent_id=CONSENTS[i % len(CONSENTS)], point=f"enedis:{30000000000000 + i % 20:014d}",
        dataset="daily_consumption", window_start=at - timedelta(days=8),
        window_end=at - timedelta(days=1), resolution="P1D", values=7, upstream_calls=1,
        upstream=("daily_consumption 7d",))


async def run(db: Database, n: int, concurrency: int, trail: bool) -> tuple[float, float, int]:
    """Events/s, mean wait (ms) and commits of one closed-loop run."""
    sink = GroupCommitSink(db, also=AccessTrail(EvidenceLog(db, origin="bench/evidence"))
                           if trail else None)
    sink.start()
    waits: list[float] = []
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            t0 = time.perf_counter()
            await sink.append(event(i))
            waits.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    await sink.close()
    return n / elapsed, 1000 * sum(waits) / len(waits), sink.commits


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp}/bench.db"
        if args.postgres:
            url = stack.enter_context(DurablePostgres())
        db = Database.from_url(url)
        await db.migrate()
        try:
            await run(db, 200, args.concurrency, True)  # warm up: pools, first key, caches
            results = {}
            for trail in (False, True, False, True):  # interleaved, best of two each
                rate, wait, commits = await run(db, args.events, args.concurrency, trail)
                best = results.get(trail)
                if best is None or rate > best[0]:
                    results[trail] = (rate, wait, commits)
        finally:
            await db.dispose()
    backend = "PostgreSQL (durable commits)" if args.postgres else "SQLite"
    print(f"{args.events} access events, {args.concurrency} concurrent appenders, {backend}:")
    for trail, label in ((False, "access_event rows only     "),
                         (True, "rows + evidence leaves     ")):
        rate, wait, commits = results[trail]
        print(f"  {label} {rate:8.0f} events/s   mean wait {wait:6.2f} ms   "
              f"{commits / args.events:.3f} commits/event")
    print(f"  ratio with/without evidence leaves: {results[True][0] / results[False][0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--consents", type=int, default=len(CONSENTS))
    arguments = parser.parse_args()
    CONSENTS[:] = [str(uuid.uuid4()) for _ in range(arguments.consents)]
    asyncio.run(main(arguments))

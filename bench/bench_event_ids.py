"""Random (UUID4) against time-ordered (UUIDv7) access-event ids, on a large log.

Two SQLite databases are filled alike (``--prefill`` access events with their evidence
leaves, over ``--consents`` consents), one with each kind of id; then both take batches of
``--batch`` events through the data path's writer (rows and leaves, one durable commit per
batch), in interleaved rounds. Printed: CPU (user and system) and wall time per event of
each, and their ratios. A random key puts each insert on a random page of the primary-key
index, which the commit then writes whole; time-ordered keys share the index's last page.

Run: ``python bench/bench_event_ids.py [--prefill 300000] [--consents 2000]`` (3 min).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consent.access_events import ACCESS_EVENT_TABLE, AccessEvent, Outcome
from consent.event_writers import SqliteWriter
from consent.evidence.access_trail import AccessTrail
from consent.evidence.log import EvidenceLog
from consent.models.base import time_ordered_id
from consent.storage import Database

KINDS: dict[str, Callable[[], str]] = {"random (UUID4)": lambda: str(uuid.uuid4()),
                                       "time-ordered (UUIDv7)": time_ordered_id}


def event(consents: list[str], new_id: Callable[[], str]) -> AccessEvent:
    at = datetime.now(UTC)
    return AccessEvent(
        at=at, request_id=uuid.uuid4().hex, api="native",
        route="/api/v1/points/{point_id}/datasets/{dataset}", outcome=Outcome.SERVED,
        status=200, body_sha256="ab" * 32, recipient_id="r-bench",
        consent_id=random.choice(consents), point="enedis:30000000000000",
        dataset="daily_consumption", window_start=at - timedelta(days=8),
        window_end=at - timedelta(days=1), resolution="P1D", values=7, upstream_calls=1,
        upstream=("daily_consumption 7d",), id=new_id())


async def batch(writer: SqliteWriter, events: list[AccessEvent]) -> None:
    after = await writer.write(events)
    if after is not None:
        after()


async def main(args: argparse.Namespace) -> None:
    consents = [str(uuid.uuid4()) for _ in range(args.consents)]
    with tempfile.TemporaryDirectory() as tmp:
        writers: dict[str, SqliteWriter] = {}
        for n, (kind, new_id) in enumerate(KINDS.items()):
            path = f"{tmp}/ids{n}.db"
            db = Database.from_url(f"sqlite:///{path}")
            await db.migrate()
            writer = SqliteWriter(path, ACCESS_EVENT_TABLE, db.engine.dialect,
                                  also=AccessTrail(EvidenceLog(db, origin="bench/ids")))
            for _ in range(args.prefill // args.batch):
                await batch(writer, [event(consents, new_id) for _ in range(args.batch)])
            writers[kind] = writer
        cost = {kind: [0.0, 0.0, 0.0] for kind in KINDS}
        for _round in range(args.rounds):
            for kind, new_id in KINDS.items():
                batches = [[event(consents, new_id) for _ in range(args.batch)]
                           for _ in range(args.batches)]
                r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
                for events in batches:
                    await batch(writers[kind], events)
                r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
                for i, spent in enumerate((r1.ru_utime - r0.ru_utime,
                                           r1.ru_stime - r0.ru_stime, t1 - t0)):
                    cost[kind][i] += spent
        for writer in writers.values():
            await writer.close()
        size = sum(Path(f"{tmp}/ids{n}.db").stat().st_size for n in range(2)) >> 21  # noqa: ASYNC240
    n = args.rounds * args.batches * args.batch
    print(f"{args.prefill} events already logged over {args.consents} consents (~{size} MiB "
          f"each), then batches of {args.batch}, {n} events per kind in {args.rounds} rounds:")
    for kind, (user, system, wall) in cost.items():
        print(f"  {kind:22s} user {user / n * 1e6:6.1f} us  system {system / n * 1e6:6.1f} us"
              f"  wall {wall / n * 1e6:6.1f} us per event")
    (u0, s0, w0), (u1, s1, w1) = cost.values()
    print(f"  time-ordered / random: CPU {(u1 + s1) / (u0 + s0):.2f}, wall {w1 / w0:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefill", type=int, default=300_000)
    parser.add_argument("--consents", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--batches", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))

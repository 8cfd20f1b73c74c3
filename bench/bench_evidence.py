"""Evidence benchmarks (issue 6): append rate, bundle export and offline verification.

    python bench/bench_evidence.py [--events 100000] [--database-url URL]

Measures, in one run and on one database:

1. events appended per second, one transaction per event (sequential ``append``) against group
   commit (many concurrent ``append`` calls batched by the integrator), with the ratio;
2. export of the proof bundle of one consent with ``--events`` access events;
3. offline verification of that bundle.

Targets (issue 6): export and verification each under 5 s for 100,000 access events. Wall
time and process CPU time are both printed: on a shared machine the CPU time is the steadier
figure. Default
database: a temporary SQLite file; pass ``--database-url postgresql+asyncpg://...`` to measure
PostgreSQL (the database must be empty; tables are created).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import SQLModel

from consent.clock import FrozenClock
from consent.evidence.blobs import MemoryBlobStore
from consent.evidence.events import SERVED, AccessEvent
from consent.evidence.keystore import MemoryKeyStore
from consent.evidence.records import (
    Actor,
    Authentication,
    ConsentRecord,
    Notice,
    RecipientTerms,
    Scope,
)
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence
from consent.evidence.tables import EVIDENCE_TABLES
from consent.evidence.verify import verify_bundle
from consent.storage.database import Database

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
POINT = "enedis:22516914714270"


def access(at: datetime, consent_id: str = "c-bench") -> AccessEvent:
    return AccessEvent(at=at, tenant="t1", recipient_id="r-app", point=POINT,
                       dataset="consumption_load_curve", window_start=at - timedelta(days=1),
                       window_end=at, outcome=SERVED, consent_id=consent_id,
                       household_id="h-bench", resolution="PT30M", request_id="req")


def grant(at: datetime) -> ConsentRecord:
    return ConsentRecord(
        tenant="t1", consent_id="c-bench", version=1, action="grant", state="active", at=at,
        household_id="h-bench",
        recipient=RecipientTerms("r-app", "Bench App", "controller", ("energy_monitoring",),
                                 "consent"),
        purpose="energy_monitoring", legal_basis="consent",
        scope=Scope((POINT,), ("consumption_load_curve",), "PT30M", None, 1095),
        valid_from=at, valid_until=at + timedelta(days=1000),
        actor=Actor("subject", "web", "h-bench"), notice=Notice("v1", "00" * 32, "fr"),
        authentication=Authentication("itsme", "sub", at))


async def setup(url: str) -> Database:
    db = Database.from_url(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all,
                            tables=[t.__table__ for t in EVIDENCE_TABLES])  # type: ignore[attr-defined]
    return db


async def append_rates(evidence: Evidence, clock: FrozenClock, n: int) -> tuple[float, float]:
    start = time.perf_counter()
    for i in range(n):
        await evidence.access(access(clock.now() + timedelta(seconds=i), "c-seq"))
    sequential = n / (time.perf_counter() - start)
    start = time.perf_counter()
    await asyncio.gather(*(evidence.access(access(clock.now() + timedelta(seconds=i), "c-grp"))
                           for i in range(n)))
    grouped = n / (time.perf_counter() - start)
    return sequential, grouped


async def main(events: int, url: str | None, rate_sample: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = await setup(url or f"sqlite+aiosqlite:///{tmp}/bench.db")
        clock = FrozenClock(T0)
        evidence = Evidence(db, MemoryKeyStore(clock=clock), MemoryBlobStore(),
                            origin="bench.passerelle/evidence", clock=clock)
        sequential, grouped = await append_rates(evidence, clock, rate_sample)
        print(f"append, one transaction per event : {sequential:10.0f} events/s")
        print(f"append, group commit (concurrent) : {grouped:10.0f} events/s "
              f"(x{grouped / sequential:.1f})")
        await evidence.record(grant(clock.now()))
        start = time.perf_counter()
        for first in range(0, events, 10_000):
            batch = [access(T0 + timedelta(minutes=10 * i)).to_log_event()
                     for i in range(first, min(events, first + 10_000))]
            await evidence.log.append_many(batch)
        fill = time.perf_counter() - start
        print(f"fill {events} access events with append_many: {fill:.1f} s "
              f"({events / fill:.0f} events/s)")
        clock.advance(timedelta(days=1000))
        out = io.BytesIO()
        start, cpu = time.perf_counter(), time.process_time()
        result = await evidence.export(Selection(consent_id="c-bench"), out, actor="bench")
        print(f"export bundle: {result.entries} entries, {len(out.getvalue()) / 1e6:.1f} MB "
              f"in {time.perf_counter() - start:.2f} s (CPU {time.process_time() - cpu:.2f} s;"
              " target < 5 s)")
        start, cpu = time.perf_counter(), time.process_time()
        # The bench signed it itself: its own keys are the ones to trust.
        report = verify_bundle(io.BytesIO(out.getvalue()), accept_bundle_keys=True)
        print(f"verify bundle: {'valid' if report.ok else 'INVALID'} in "
              f"{time.perf_counter() - start:.2f} s (CPU {time.process_time() - cpu:.2f} s; "
              "target < 5 s)")
        if not report.ok:
            print(report.render()[:2000])
        await evidence.aclose()
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate-sample", type=int, default=2000,
                        help="events per append-rate measurement")
    parser.add_argument("--database-url")
    options = parser.parse_args()
    asyncio.run(main(options.events, options.database_url, options.rate_sample))

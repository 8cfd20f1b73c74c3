"""Soak: a steady request rate through nginx into two replicas on one PostgreSQL, for minutes.

Brings up the local topology (``deploy/local-topology.sh``: PostgreSQL, the DSO simulator over
HTTP, two replicas, nginx with TLS), seeds households with consents to several apps, then sends
``--rate`` data requests per second (open loop: the schedule does not wait for answers) for
``--minutes``. Every ``--sample`` seconds it reads each replica's resident memory (``VmRSS``).
Prints, and writes to ``--json`` if given:

* requests sent, answered 200, and every other outcome (the target is zero errors);
* latency p50/p90/p99/p99.9/max through the edge;
* each replica's RSS over time: after warm-up, first minute vs last minute (target: flat,
  growth under 10 %).

Not part of the test suite (it runs for minutes). Run:
``python bench/soak.py [--minutes 10] [--rate 30] [--apps 8] [--json soak.json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proxy_world import POINTS, seed
from proxy.environment import with_password
from proxy.server_tuning import EVENT_LOOPS
from tests.support.topology import Topology, local_topology

WARM_UP = 60.0  # seconds of the run not counted in the memory comparison


@dataclass
class Tally:
    """What happened, request by request."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    rss: dict[int, list[tuple[float, int]]] = field(default_factory=dict)  # replica -> samples
    upstream: dict[str, float] = field(default_factory=dict)  # DSO calls by outcome

    def count(self, outcome: str) -> None:
        self.statuses[outcome] = self.statuses.get(outcome, 0) + 1


def replica_pids(topology: Topology) -> list[int]:
    """The process ids of the replicas (the script's pid files)."""
    return [int((topology.state_dir / "run" / f"replica-{i}.pid").read_text().split()[0])
            for i in (1, 2)]


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def plan(i: int) -> tuple[str, str, str]:
    """The ``i``-th request. Three in four read a 7-day window of daily values of one of 20
    points, ending on one of 20 recent days (served from the day cache once warm); the fourth
    reads one day never asked before (one DSO call each: a quarter of ``--rate``, inside the
    simulator's quota of 20 calls per second)."""
    if i % 4 == 3:
        k = i // 4
        day = date.today() - timedelta(days=30 + (k // 20) % 1000)  # older than warm-up
        return str(POINTS[k % 20]), day.isoformat(), (day + timedelta(days=1)).isoformat()
    end = date.today() - timedelta(days=1 + (i // 20) % 20)
    return str(POINTS[i % 20]), (end - timedelta(days=7)).isoformat(), end.isoformat()


def warm_up_plan() -> list[tuple[str, str, str]]:
    """One request per point covering every recent day :func:`plan` reads (one DSO call
    each), so the measured run starts with a warm cache, as a running instance has."""
    last = date.today() - timedelta(days=1)
    return [(str(p), (last - timedelta(days=27)).isoformat(), last.isoformat())
            for p in POINTS[:20]]


async def one(session: aiohttp.ClientSession, topology: Topology, token: str,
              request: tuple[str, str, str], tally: Tally) -> None:
    point, start, end = request
    t0 = time.perf_counter()
    try:
        async with session.get(f"{topology.edge_url}/api/v1/points/{point}/datasets/"
                               "daily_consumption", params={"start": start, "end": end},
                               headers={"Authorization": f"Bearer {token}"},
                               ssl=topology.ssl_context()) as response:
            await response.read()
            outcome = str(response.status)
    except (aiohttp.ClientError, TimeoutError) as error:
        outcome = type(error).__name__
    tally.latencies.append(time.perf_counter() - t0)
    tally.count(outcome)


async def sample_memory(pids: list[int], every: float, tally: Tally, started: float) -> None:
    while True:
        for index, pid in enumerate(pids):
            tally.rss.setdefault(index, []).append((time.monotonic() - started, rss_kib(pid)))
        await asyncio.sleep(every)


async def soak(topology: Topology, tokens: list[str], args: argparse.Namespace) -> Tally:
    tally = Tally()
    total = int(args.minutes * 60 * args.rate)
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        warm = Tally()
        for request in warm_up_plan():
            await one(session, topology, tokens[0], request, warm)
        if set(warm.statuses) != {"200"}:
            raise RuntimeError(f"warm-up failed: {warm.statuses}")
        started = time.monotonic()
        sampler = asyncio.create_task(sample_memory(replica_pids(topology), args.sample, tally,
                                                    started))
        tasks = []
        for i in range(total):
            delay = started + i / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, topology, tokens[i % len(tokens)],
                                                 plan(i), tally)))
            if len(tasks) > 2000:
                tasks = [t for t in tasks if not t.done()]
        await asyncio.gather(*tasks)
        sampler.cancel()
        tally.upstream = await upstream_outcomes(session, topology)
    return tally


async def upstream_outcomes(session: aiohttp.ClientSession,
                            topology: Topology) -> dict[str, float]:
    """DSO calls by outcome, summed over the replicas' ``/metrics`` (a ``throttled`` count
    would mean the shared quota let too many calls through)."""
    from prometheus_client.parser import text_string_to_metric_families

    totals: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {topology.secret('metrics_token')}"}
    for replica in topology.replicas:
        async with session.get(f"{replica}/metrics", headers=headers) as response:
            text = await response.text()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "passerelle_upstream_requests_total":
                    outcome = sample.labels["outcome"]
                    totals[outcome] = totals.get(outcome, 0) + sample.value
    return totals


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1] * 1000


def memory_report(samples: list[tuple[float, int]], end: float) -> dict[str, Any]:
    """Median RSS (MiB) of the first and the last minute after warm-up, the growth, and the
    median of every minute (a plateau and a leak look alike at two points, not at ten)."""
    first = [kib for t, kib in samples if WARM_UP <= t < WARM_UP + 60] or [samples[0][1]]
    last = [kib for t, kib in samples if t >= end - 60] or [samples[-1][1]]
    start_mib, end_mib = statistics.median(first) / 1024, statistics.median(last) / 1024
    return {"first_minute_mib": round(start_mib, 1), "last_minute_mib": round(end_mib, 1),
            "max_mib": round(max(kib for _, kib in samples) / 1024, 1),
            "growth_percent": round(100 * (end_mib - start_mib) / start_mib, 1),
            "per_minute_mib": [round(statistics.median(kibs) / 1024, 1) for minute in
                               range(int(end // 60) + 1)
                               if (kibs := [k for t, k in samples if minute * 60 <= t <
                                            (minute + 1) * 60])]}


def report(tally: Tally, args: argparse.Namespace) -> dict[str, Any]:
    lat = tally.latencies
    duration = args.minutes * 60
    return {
        "minutes": args.minutes, "rate_per_s": args.rate, "apps": args.apps,
        "event_loop": args.event_loop,
        "sent": len(lat), "outcomes": dict(sorted(tally.statuses.items())),
        "errors": sum(n for k, n in tally.statuses.items() if k != "200"),
        "latency_ms": {"p50": round(percentile(lat, 0.5), 2),
                       "p90": round(percentile(lat, 0.9), 2),
                       "p99": round(percentile(lat, 0.99), 2),
                       "p99.9": round(percentile(lat, 0.999), 2),
                       "max": round(max(lat) * 1000, 2)},
        "upstream_calls": tally.upstream,
        "replica_rss": {f"replica-{i + 1}": memory_report(s, duration)
                        for i, s in sorted(tally.rss.items())},
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with local_topology(PASSERELLE_EVENT_LOOP=args.event_loop) as topology:
        url = with_password(topology.database_url, topology.secret("db_password"))
        tokens = await seed(url, apps=args.apps, points=20)
        assert isinstance(tokens, list)
        tally = await soak(topology, tokens, args)
    return report(tally, args)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=30.0, help="requests per second")
    parser.add_argument("--apps", type=int, default=8,
                        help="recipient apps sharing the load (each stays under its own rate "
                             "limit of 20/s)")
    parser.add_argument("--sample", type=float, default=5.0, help="RSS sampling period (s)")
    parser.add_argument("--event-loop", choices=EVENT_LOOPS, default="uvloop",
                        help="the replicas' PASSERELLE_EVENT_LOOP (default: serve's)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.minutes * 60 < WARM_UP + 120:
        parser.error(f"run at least {(WARM_UP + 120) / 60:.0f} minutes (warm-up + two minutes)")
    result = asyncio.run(main(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    cli()

"""Passerelle with one replica and with two, against a bare pass-through, on PostgreSQL.

The pieces of ``bench/bench_proxy.py``, scaled out: the in-house DSO server (the simulator over
HTTP), a bare aiohttp pass-through, then Passerelle replicas, each its own process, all on one
durable PostgreSQL cluster (so the per-recipient buckets, quota slots, application token and
access events are shared through the database, as in production). This process generates the
load and spreads it round-robin over the replicas (the balancer's job). Printed, measured in
this one run:

* requests/s with ``--concurrency`` clients in a closed loop: bare pass-through, Passerelle with
  one replica, with two; the ratios Passerelle/bare and two/one replicas;
* latency p50/p99 of each at ``--rate`` requests per second.

On a machine with fewer cores than processes the second replica competes with the first (and
with PostgreSQL, the DSO simulator and the load generator) for CPU: the two/one ratio measures
the shared-state overhead and the headroom left, not a cluster's scaling. Run:
``python bench/bench_replicas.py [--requests 3000] [--concurrency 32] [--rate 25]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_proxy import free_port, one, p, request_plan, spawn, wait_for
from bench.proxy_world import DurablePostgres, seed


async def closed_loop(bases: list[str], token: str | None, n: int, concurrency: int) -> float:
    """Requests per second over ``bases`` (round-robin) with ``concurrency`` clients."""
    plan = request_plan(n)
    rotation = itertools.cycle(bases)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(one(session, next(rotation), token, item)
                               for item in plan[:100]))  # warm-up, every base
        queue = iter(plan)

        async def worker() -> None:
            for item in queue:
                await one(session, next(rotation), token, item)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - started)


async def open_loop(bases: list[str], token: str | None, n: int, rate: float) -> list[float]:
    """Latencies (s) of ``n`` requests sent at ``rate`` per second, round-robin."""
    plan = request_plan(n)
    rotation = itertools.cycle(bases)
    async with aiohttp.ClientSession() as session:
        tasks = []
        started = time.perf_counter()
        for i, item in enumerate(plan):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, next(rotation), token, item)))
        return list(await asyncio.gather(*tasks))


async def main(args: argparse.Namespace) -> None:
    # Each replica may hold 40 connections (pool 20 + overflow 20), the seed and the load a few.
    with tempfile.TemporaryDirectory() as tmp, DurablePostgres(max_connections=120) as db_url:
        token = await seed(db_url)
        assert isinstance(token, str)
        ports = {name: free_port() for name in ("upstream", "bare", "r1", "r2")}
        upstream = f"http://127.0.0.1:{ports['upstream']}"
        processes = [spawn("upstream", str(ports["upstream"]))]
        try:
            await wait_for(ports["upstream"])
            processes.append(spawn("bare", str(ports["bare"]), upstream))
            for replica in ("r1", "r2"):
                processes.append(spawn("passerelle", str(ports[replica]), upstream, db_url, tmp))
            for name in ("bare", "r1", "r2"):
                await wait_for(ports[name])
            bare = [f"http://127.0.0.1:{ports['bare']}"]
            one_replica = [f"http://127.0.0.1:{ports['r1']}"]
            two_replicas = [*one_replica, f"http://127.0.0.1:{ports['r2']}"]
            rps = {
                "bare": await closed_loop(bare, None, args.requests, args.concurrency),
                "one": await closed_loop(one_replica, token, args.requests, args.concurrency),
                "two": await closed_loop(two_replicas, token, args.requests, args.concurrency)}
            latency = {
                "bare": await open_loop(bare, None, args.latency_requests, args.rate),
                "one": await open_loop(one_replica, token, args.latency_requests, args.rate),
                "two": await open_loop(two_replicas, token, args.latency_requests, args.rate)}
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
    print(f"closed loop, {args.concurrency} clients, {args.requests} requests (7-day daily "
          "values, cache off, durable PostgreSQL, shared limits):")
    print(f"  bare pass-through         {rps['bare']:8.0f} req/s")
    print(f"  Passerelle, one replica   {rps['one']:8.0f} req/s   ratio to bare "
          f"{rps['one'] / rps['bare']:.2f}")
    print(f"  Passerelle, two replicas  {rps['two']:8.0f} req/s   ratio to bare "
          f"{rps['two'] / rps['bare']:.2f}   two/one {rps['two'] / rps['one']:.2f}")
    print(f"open loop, {args.rate:.0f} req/s, {args.latency_requests} requests:")
    for name, label in (("bare", "bare pass-through"), ("one", "Passerelle, one replica"),
                        ("two", "Passerelle, two replicas")):
        values = latency[name]
        print(f"  {label:<25} p50 {p(values, 0.5):6.2f} ms   p99 {p(values, 0.99):6.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--latency-requests", type=int, default=500)
    asyncio.run(main(parser.parse_args()))

"""Passerelle's data path against a bare aiohttp pass-through to the same upstream DSO.

Three processes: the in-house DSO server (the simulator over HTTP), then in turn a bare
pass-through and Passerelle (every check, access events committed before each answer, cache
off), each in its own process; this process generates the load. Printed, all measured in this
one run:

* requests/s through each (closed loop), and their ratio (target >= 0.7);
* latency p50/p99 of each at a moderate fixed rate, and the p99 added by Passerelle (target
  <= 2 ms);
* upstream calls per served request for a polling workload (many apps reading the same
  households every day, cache on, in-process), against the minimum (target <= 1.05 x).

Run: ``python bench/bench_proxy.py [--postgres] [--requests 3000] [--concurrency 32] [--rate 25]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proxy_world import (
    POINTS,
    SECRET,
    DurablePostgres,
    polling_economy,
    seed,
)

PARIS = ZoneInfo("Europe/Paris")
CLIENT = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---- the three servers (each runs in its own process) -----------------------------------------

def serve_upstream(port: int) -> None:
    """The simulator behind the in-house DSO API, quotas announced far above the load."""
    from adapters.base import Quota
    from adapters.inhouse.config import ServerConfig
    from adapters.inhouse.server import create_inhouse_app
    from adapters.simulator import Simulator

    config = ServerConfig(clients={CLIENT: SECRET},
                          quotas=(Quota(1_000_000, timedelta(seconds=1)),))
    web.run_app(create_inhouse_app(Simulator(), config), host="127.0.0.1", port=port,
                print=None, access_log=None)


def serve_bare(port: int, upstream: str) -> None:
    """The baseline: forward the same request to the DSO, return its body untouched."""

    async def make() -> web.Application:
        session = aiohttp.ClientSession()
        async with session.post(upstream + "/oauth/token", data={
                "grant_type": "client_credentials", "client_id": CLIENT,
                "client_secret": SECRET}) as r:
            token = (await r.json())["access_token"]

        async def forward(request: web.Request) -> web.Response:
            q = request.query
            start = datetime.combine(date.fromisoformat(q["start"]), datetime.min.time(), PARIS)
            end = datetime.combine(date.fromisoformat(q["end"]), datetime.min.time(), PARIS)
            point, dataset = request.match_info["point"], request.match_info["dataset"]
            async with session.get(
                    f"{upstream}/api/v1/points/{point}/series/{dataset}",
                    params={"start": start.isoformat(), "end": end.isoformat(),
                            "resolution": "P1D"},
                    headers={"Authorization": f"Bearer {token}"}) as r:
                return web.Response(body=await r.read(), status=r.status,
                                    content_type="application/json")

        app = web.Application()
        app.router.add_get("/api/v1/points/{point}/datasets/{dataset}", forward)
        app.on_cleanup.append(lambda _app: session.close())
        return app

    web.run_app(make(), host="127.0.0.1", port=port, print=None, access_log=None)


def serve_passerelle(port: int, upstream: str, database_url: str, data_dir: str,
                     evidence: str = "durable") -> None:
    """Passerelle with every check and evidence on, cache off, adapters over HTTP.

    ``evidence="memory"`` keeps access events in memory instead (not durable): only to show
    how much of the cost is the durable commit.
    """
    from adapters.inhouse.client import InhouseClient
    from consent.access_events import MemorySink
    from consent.identifiers import Source
    from proxy.app import create_app
    from proxy.keys import access_sink_key
    from proxy.settings import Settings

    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))

    async def make() -> web.Application:
        session = aiohttp.ClientSession()
        adapter = InhouseClient(session, upstream, CLIENT, SECRET)
        settings = Settings(data_dir=Path(data_dir), database_url=database_url, port=port,
                            upstream_cache=False, recipient_rate=1e6, recipient_burst=10**6)
        app = create_app(settings, adapters={s: adapter for s in Source})
        app.on_cleanup.append(lambda _app: session.close())
        if evidence == "memory":
            async def swap(app: web.Application) -> None:
                app[access_sink_key] = MemorySink()
            app.on_startup.append(swap)
        return app

    web.run_app(make(), host="127.0.0.1", port=port, print=None, access_log=None)


# ---- load --------------------------------------------------------------------------------------

def request_plan(n: int) -> list[tuple[str, str, str]]:
    """``n`` (point, start, end) requests: 7-day daily windows over the bench points."""
    yesterday = date.today() - timedelta(days=1)
    plan = []
    for i in range(n):
        end = yesterday - timedelta(days=i % 20)
        plan.append((str(POINTS[i % 20]), (end - timedelta(days=7)).isoformat(),
                     end.isoformat()))
    return plan


async def one(session: aiohttp.ClientSession, base: str, token: str | None,
              item: tuple[str, str, str]) -> float:
    point, start, end = item
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    t0 = time.perf_counter()
    async with session.get(f"{base}/api/v1/points/{point}/datasets/daily_consumption",
                           params={"start": start, "end": end}, headers=headers) as r:
        await r.read()
        if r.status != 200:
            raise RuntimeError(f"{base}: HTTP {r.status}: {await r.text()}")
    return time.perf_counter() - t0


async def closed_loop(base: str, token: str | None, n: int, concurrency: int) -> float:
    """Requests per second with ``concurrency`` clients in a closed loop."""
    plan = request_plan(n)
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, base, token, p) for p in plan[:50]))  # warm up
        queue = iter(plan)

        async def worker() -> None:
            for item in queue:
                await one(session, base, token, item)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - t0)


async def open_loop(base: str, token: str | None, n: int, rate: float) -> list[float]:
    """Latencies (s) of ``n`` requests sent at a fixed ``rate`` per second."""
    plan = request_plan(n)
    async with aiohttp.ClientSession() as session:
        tasks = []
        start = time.perf_counter()
        for i, item in enumerate(plan):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, base, token, item)))
        return list(await asyncio.gather(*tasks))


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000


def spawn(*args: str) -> subprocess.Popen[bytes]:
    script = os.environ.get("BENCH_PROFILE_SCRIPT") if args[0] == "passerelle" else None
    return subprocess.Popen([sys.executable, script or __file__, *args], env={**os.environ})


async def wait_for(port: int) -> None:
    for _ in range(200):
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        db_url = f"sqlite:///{tmp}/bench.db"
        if args.postgres:
            db_url = stack.enter_context(DurablePostgres())
        token = await seed(db_url)
        ports = {name: free_port() for name in ("upstream", "bare", "passerelle", "memory")}
        upstream = f"http://127.0.0.1:{ports['upstream']}"
        procs = [spawn("upstream", str(ports["upstream"]))]
        try:
            await wait_for(ports["upstream"])
            procs.append(spawn("bare", str(ports["bare"]), upstream))
            procs.append(spawn("passerelle", str(ports["passerelle"]), upstream, db_url, tmp))
            procs.append(spawn("passerelle", str(ports["memory"]), upstream, db_url, tmp,
                               "memory"))
            for name in ("bare", "passerelle", "memory"):
                await wait_for(ports[name])
            bare = f"http://127.0.0.1:{ports['bare']}"
            ours = f"http://127.0.0.1:{ports['passerelle']}"
            mem = f"http://127.0.0.1:{ports['memory']}"
            rps_bare = await closed_loop(bare, None, args.requests, args.concurrency)
            rps_ours = await closed_loop(ours, token, args.requests, args.concurrency)
            rps_mem = await closed_loop(mem, token, args.requests, args.concurrency)
            lat_bare = await open_loop(bare, None, args.latency_requests, args.rate)
            lat_ours = await open_loop(ours, token, args.latency_requests, args.rate)
            lat_mem = await open_loop(mem, token, args.latency_requests, args.rate)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"closed loop, {args.concurrency} clients, {args.requests} requests (7-day daily "
          f"values, cache off, {backend}, durable commits):")
    print(f"  bare pass-through   {rps_bare:8.0f} req/s")
    print(f"  Passerelle          {rps_ours:8.0f} req/s   ratio {rps_ours / rps_bare:.2f} "
          "(target >= 0.70)")
    print(f"  (events in memory   {rps_mem:8.0f} req/s   ratio {rps_mem / rps_bare:.2f}: "
          "not durable, shows the commit's share)")
    print(f"open loop, {args.rate:.0f} req/s, {args.latency_requests} requests:")
    print(f"  bare pass-through   p50 {p(lat_bare, 0.5):6.2f} ms   p99 {p(lat_bare, 0.99):6.2f} ms")
    print(f"  Passerelle          p50 {p(lat_ours, 0.5):6.2f} ms   p99 {p(lat_ours, 0.99):6.2f} ms")
    print(f"  (events in memory   p50 {p(lat_mem, 0.5):6.2f} ms   p99 {p(lat_mem, 0.99):6.2f} ms)")
    added = p(lat_ours, 0.99) - p(lat_bare, 0.99)
    print(f"  p99 added by Passerelle: {added:.2f} ms (target <= 2 ms); without the durable "
          f"commit: {p(lat_mem, 0.99) - p(lat_bare, 0.99):.2f} ms")
    economy = await polling_economy(apps=args.apps, points=args.points, days=args.days)
    print(f"polling workload: {args.apps} apps x {args.points} households x {args.days} days "
          f"(7-day window each morning, cache on):")
    print(f"  served requests {economy['served']}, upstream data calls {economy['calls']}, "
          f"minimum needed {economy['minimum']}")
    print(f"  calls per served request {economy['calls'] / economy['served']:.3f}; "
          f"ratio to minimum {economy['calls'] / economy['minimum']:.3f} (target <= 1.05)")


def cli() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in {"upstream", "bare", "passerelle"}:
        role, rest = sys.argv[1], sys.argv[2:]
        servers: dict[str, Any] = {"upstream": serve_upstream, "bare": serve_bare,
                                   "passerelle": serve_passerelle}
        servers[role](int(rest[0]), *rest[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--latency-requests", type=int, default=500)
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--postgres", action="store_true",
                        help="run Passerelle on a throwaway PostgreSQL cluster (production "
                             "backend) instead of SQLite")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()

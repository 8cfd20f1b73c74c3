"""Passerelle's data path against a bare aiohttp pass-through to the same upstream DSO.

Servers, each in its own process: the in-house DSO server (the simulator over HTTP), then in
turn a bare pass-through, the same pass-through committing one row per request before its
answer (the *floor*: what R16, an access event durable before the response, costs by itself on
this machine, with nothing else of Passerelle's), and Passerelle (every check, access events
and their evidence leaves committed before each answer, cache off); this process generates the
load. Printed, all measured in this one run:

* requests/s through each (closed loop), and their ratio to the bare pass-through (target
  >= 0.7), with the CPU each server process spent per request (the steadier figure when the
  machine is shared);
* latency p50/p99 of each at a moderate fixed rate, and the p99 added by Passerelle (target
  <= 2 ms) and by the floor;
* requests/s through each again with the DSO answering ``--upstream-delay-ms`` late (50 ms by
  default: a real DSO's answers take tens to hundreds of milliseconds), where the pass-through
  is no longer bound by this machine's CPU;
* upstream calls per served request for a polling workload (many apps reading the same
  households every day, cache on, in-process), against the minimum (target <= 1.05 x).

The servers are measured in interleaved rounds (closed loop) and with interleaved schedules
(open loop), so that a burst of load from elsewhere on the machine falls on all of them alike
rather than on whichever happened to run then.

Run: ``python bench/bench_proxy.py [--postgres] [--sqlite-synchronous normal]
[--check-cache-ttl 0] [--requests 3000] [--concurrency 32] [--rate 25]
[--upstream-delay-ms 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
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
from proxy.server_tuning import EVENT_LOOPS, serving_loop

PARIS = ZoneInfo("Europe/Paris")
CLIENT = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---- the servers (each runs in its own process) -----------------------------------------------

def serve_upstream(port: int) -> None:
    """The simulator behind the in-house DSO API, quotas announced far above the load.

    ``POST /__bench/delay`` (body: seconds) makes every later answer that much late, as a
    real DSO's would be (the second closed-loop measurement)."""
    from adapters.base import Quota
    from adapters.inhouse.config import ServerConfig
    from adapters.inhouse.server import create_inhouse_app
    from adapters.simulator import Simulator

    config = ServerConfig(clients={CLIENT: SECRET},
                          quotas=(Quota(1_000_000, timedelta(seconds=1)),))
    app = create_inhouse_app(Simulator(), config)
    delay = [0.0]

    @web.middleware
    async def late(request: web.Request, handler: Any) -> web.StreamResponse:
        if delay[0] and not request.path.startswith("/__bench/"):
            await asyncio.sleep(delay[0])
        response: web.StreamResponse = await handler(request)
        return response

    async def set_delay(request: web.Request) -> web.Response:
        delay[0] = float(await request.text())
        return web.Response(text="ok")

    app.middlewares.append(late)
    app.router.add_post("/__bench/delay", set_delay)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


Record = Callable[[web.Request, bytes, int], Awaitable[None]]


def serve_bare(port: int, upstream: str, *, record: Record | None = None,
               on_startup: Callable[[web.Application], Awaitable[None]] | None = None) -> None:
    """The baseline: forward the same request to the DSO, return its body untouched
    (``record(request, body, status)`` awaited first, if given: :func:`serve_floor`)."""

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
                body = await r.read()
                if record is not None:
                    await record(request, body, r.status)
                return web.Response(body=body, status=r.status,
                                    content_type="application/json")

        app = web.Application()
        if on_startup is not None:
            app.on_startup.append(on_startup)
        app.router.add_get("/api/v1/points/{point}/datasets/{dataset}", forward)
        app.on_cleanup.append(lambda _app: session.close())
        return app

    web.run_app(make(), host="127.0.0.1", port=port, print=None, access_log=None,
                loop=server_loop())


Row = tuple[Any, ...]


async def floor_writer(database_url: str, synchronous: str
                       ) -> Callable[[Sequence[Row]], Awaitable[None]]:
    """Writes a batch of floor rows in one durable transaction (the least that any server
    obeying R16, an access event durable before the response, does: no checks, evidence leaves
    or normalising), on PostgreSQL or on a SQLite file with ``synchronous``."""
    if database_url.startswith("postgresql"):
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        await conn.execute("CREATE TABLE IF NOT EXISTS floor_event (id text PRIMARY KEY, "
                           "at text, point text, status int, body_sha256 text)")

        async def commit(rows: Sequence[Row]) -> None:
            # One transaction, flushed on commit (synchronous_commit on).
            await conn.executemany("INSERT INTO floor_event VALUES ($1, $2, $3, $4, $5)", rows)

        return commit
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    db = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None,
                         check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous.upper()}")
    db.execute("CREATE TABLE IF NOT EXISTS floor_event (id TEXT PRIMARY KEY, at TEXT, "
               "point TEXT, status INTEGER, body_sha256 TEXT)")
    thread = ThreadPoolExecutor(max_workers=1)

    def write(rows: Sequence[Row]) -> None:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO floor_event VALUES (?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")

    async def commit_sqlite(rows: Sequence[Row]) -> None:
        await asyncio.get_running_loop().run_in_executor(thread, write, rows)

    return commit_sqlite


def serve_floor(port: int, upstream: str, database_url: str, synchronous: str) -> None:
    """The bare pass-through plus the body's SHA-256 and one row per request, committed before
    the answer by the group commit Passerelle's access events use
    (:class:`~consent.group_commit.GroupCommit`, :func:`floor_writer`)."""
    import hashlib
    import uuid

    from consent.group_commit import GroupCommit

    floor: list[GroupCommit[Row]] = []

    async def record(request: web.Request, body: bytes, status: int) -> None:
        await floor[0].submit((uuid.uuid4().hex, datetime.now().isoformat(),
                               request.match_info["point"], status,
                               hashlib.sha256(body).hexdigest()))

    async def started(_app: web.Application) -> None:
        floor.append(GroupCommit(await floor_writer(database_url, synchronous), name="floor"))
        floor[0].start()

    serve_bare(port, upstream, record=record, on_startup=started)


def serve_passerelle(port: int, upstream: str, database_url: str, data_dir: str,
                     evidence: str = "durable", synchronous: str = "full",
                     check_cache_ttl: str = "5") -> None:
    """Passerelle with every check and evidence on, cache off, adapters over HTTP.

    ``evidence="memory"`` keeps access events in memory instead (not durable): only to show
    how much of the cost is the durable commit.
    """
    from adapters.inhouse.client import InhouseClient
    from consent.access_events import MemorySink
    from consent.identifiers import Source
    from proxy.app import create_app
    from proxy.keys import access_sink_key
    from proxy.server_tuning import tune_for_serving
    from proxy.settings import Settings

    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))

    async def make() -> web.Application:
        session = aiohttp.ClientSession()
        adapter = InhouseClient(session, upstream, CLIENT, SECRET)
        settings = Settings(data_dir=Path(data_dir), database_url=database_url, port=port,
                            upstream_cache=False, recipient_rate=1e6, recipient_burst=10**6,
                            sqlite_synchronous=synchronous,
                            check_cache_ttl=float(check_cache_ttl))
        app = create_app(settings, adapters={s: adapter for s in Source})
        tune_for_serving(app)  # as the serve command does
        app.on_cleanup.append(lambda _app: session.close())
        if evidence == "memory":
            async def swap(app: web.Application) -> None:
                app[access_sink_key] = MemorySink()
            app.on_startup.append(swap)
        return app

    web.run_app(make(), host="127.0.0.1", port=port, print=None, access_log=None,
                loop=server_loop())


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


@dataclass
class Target:
    """One server under measurement and what was measured of it."""

    label: str
    base: str
    token: str | None
    pid: int
    requests: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.requests * 1e6


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) a process has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def closed_loop(session: aiohttp.ClientSession, target: Target, plan: list[Any],
                      concurrency: int) -> None:
    """``plan`` through ``target`` by ``concurrency`` clients in a closed loop."""
    queue = iter(plan)

    async def worker() -> None:
        for item in queue:
            await one(session, target.base, target.token, item)

    cpu, t0 = process_cpu(target.pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    target.seconds += time.perf_counter() - t0
    target.cpu += process_cpu(target.pid) - cpu
    target.requests += len(plan)


async def closed_rounds(targets: list[Target], n: int, concurrency: int, rounds: int) -> None:
    """``n`` requests per target in ``rounds`` rounds, the targets' order rotating."""
    plan = request_plan(n)
    async with aiohttp.ClientSession() as session:
        for target in targets:  # warm up
            await asyncio.gather(*(one(session, target.base, target.token, p)
                                   for p in plan[:50]))
        size = -(-n // rounds)
        with collector_paused():
            for r in range(rounds):
                for target in targets[r % len(targets):] + targets[:r % len(targets)]:
                    await closed_loop(session, target, plan[r * size:(r + 1) * size],
                                      concurrency)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The load generator's own cyclic garbage collector off while it measures, its heap frozen
    first. A full collection of this process took 93 ms here, charged to whatever was in flight:
    in the open loop, one request near the 60th second of every ``bench_ab.py --open-loop``
    run, always the same target's; in the closed loop, a pause of that length in a round of one
    or two seconds."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def open_loop(targets: list[Target], n: int, rate: float) -> None:
    """``n`` requests to each target at ``rate`` per second, the schedules interleaved."""
    plan = request_plan(n)
    step = 1 / rate / len(targets)
    with collector_paused():
        await _open_loop(targets, plan, rate, step)


async def _open_loop(targets: list[Target], plan: list[tuple[str, str, str]], rate: float,
                     step: float) -> None:
    async with aiohttp.ClientSession() as session:
        tasks: list[tuple[Target, asyncio.Task[float]]] = []
        start = time.perf_counter()
        for i, item in enumerate(plan):
            for k, target in enumerate(targets):
                delay = start + i / rate + k * step - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append((target, asyncio.create_task(
                    one(session, target.base, target.token, item))))
        for target, task in tasks:
            target.latencies.append(await task)


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000


def server_loop() -> asyncio.AbstractEventLoop:
    """The loop the bare pass-through and Passerelle run on: both the same, so the ratio
    compares the code, not the loops (``--event-loop``; ``passerelle serve`` runs uvloop)."""
    return serving_loop(os.environ.get("BENCH_EVENT_LOOP", "asyncio"))


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
        assert isinstance(token, str)
        ports = {name: free_port()
                 for name in ("upstream", "bare", "floor", "passerelle", "memory")}
        upstream = f"http://127.0.0.1:{ports['upstream']}"
        procs = [spawn("upstream", str(ports["upstream"]))]
        try:
            await wait_for(ports["upstream"])
            procs.append(spawn("bare", str(ports["bare"]), upstream))
            floor_url = db_url if args.postgres else f"sqlite:///{tmp}/floor.db"
            procs.append(spawn("floor", str(ports["floor"]), upstream, floor_url,
                               args.sqlite_synchronous))
            ttl = str(args.check_cache_ttl)
            procs.append(spawn("passerelle", str(ports["passerelle"]), upstream, db_url, tmp,
                               "durable", args.sqlite_synchronous, ttl))
            procs.append(spawn("passerelle", str(ports["memory"]), upstream, db_url, tmp,
                               "memory", args.sqlite_synchronous, ttl))
            for name in ("bare", "floor", "passerelle", "memory"):
                await wait_for(ports[name])
            bare, floor, ours, mem = (
                Target(label, f"http://127.0.0.1:{ports[name]}", tok, proc.pid)
                for label, name, tok, proc in (
                    ("bare pass-through", "bare", None, procs[1]),
                    ("bare + durable row", "floor", None, procs[2]),
                    ("Passerelle", "passerelle", token, procs[3]),
                    ("(events in memory", "memory", token, procs[4])))
            everyone = [bare, floor, ours, mem]
            await closed_rounds(everyone, args.requests, args.concurrency, args.rounds)
            await open_loop(everyone, args.latency_requests, args.rate)
            late = [Target(t.label, t.base, t.token, t.pid) for t in (bare, ours)]
            if args.upstream_delay_ms > 0:
                async with aiohttp.ClientSession() as session, session.post(
                        f"{upstream}/__bench/delay", data=str(args.upstream_delay_ms / 1000)):
                    pass
                await closed_rounds(late, args.requests // 2, args.concurrency, args.rounds)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    report(args, bare, floor, ours, mem)
    if args.upstream_delay_ms > 0:
        print(f"closed loop again, the DSO answering {args.upstream_delay_ms:g} ms late (as a "
              "real one does; the target above is the CPU-bound case):")
        print(f"  bare pass-through   {late[0].rps:8.0f} req/s")
        print(f"  Passerelle          {late[1].rps:8.0f} req/s   ratio "
              f"{late[1].rps / late[0].rps:.2f}   server CPU {late[1].cpu_us:5.0f} us/request")
    economy = await polling_economy(apps=args.apps, points=args.points, days=args.days)
    print(f"polling workload: {args.apps} apps x {args.points} households x {args.days} days "
          f"(7-day window each morning, cache on):")
    print(f"  served requests {economy['served']}, upstream data calls {economy['calls']}, "
          f"minimum needed {economy['minimum']}")
    print(f"  calls per served request {economy['calls'] / economy['served']:.3f}; "
          f"ratio to minimum {economy['calls'] / economy['minimum']:.3f} (target <= 1.05)")


def report(args: argparse.Namespace, bare: Target, floor: Target, ours: Target, mem: Target
           ) -> None:
    backend = ("PostgreSQL" if args.postgres
               else f"SQLite synchronous={args.sqlite_synchronous}")
    if args.check_cache_ttl <= 0:
        backend += ", token and consent rows read on every request"
    print(f"closed loop, {args.concurrency} clients, {args.requests} requests each in "
          f"{args.rounds} interleaved rounds (7-day daily values, cache off, {backend}, durable "
          "commits):")
    print(f"  bare pass-through   {bare.rps:8.0f} req/s                  "
          f"server CPU {bare.cpu_us:5.0f} us/request")
    print(f"  bare + durable row  {floor.rps:8.0f} req/s   ratio {floor.rps / bare.rps:.2f} "
          f"(the floor: R16 alone)  server CPU {floor.cpu_us:5.0f} us/request")
    print(f"  Passerelle          {ours.rps:8.0f} req/s   ratio {ours.rps / bare.rps:.2f} "
          f"(target >= 0.70)   server CPU {ours.cpu_us:5.0f} us/request")
    print(f"  (events in memory   {mem.rps:8.0f} req/s   ratio {mem.rps / bare.rps:.2f}: "
          f"not durable, shows the commit's share; server CPU {mem.cpu_us:5.0f} us/request)")
    print(f"open loop, {args.rate:.0f} req/s to each, {args.latency_requests} requests each, "
          "interleaved:")
    for target in (bare, floor, ours, mem):
        close = ")" if target is mem else ""
        print(f"  {target.label:18s}  p50 {p(target.latencies, 0.5):6.2f} ms   "
              f"p99 {p(target.latencies, 0.99):6.2f} ms{close}")
    added = p(ours.latencies, 0.99) - p(bare.latencies, 0.99)
    print(f"  p99 added by Passerelle: {added:.2f} ms (target <= 2 ms); without the durable "
          f"commit: {p(mem.latencies, 0.99) - p(bare.latencies, 0.99):.2f} ms; p50 added "
          f"{p(ours.latencies, 0.5) - p(bare.latencies, 0.5):.2f} ms")
    print(f"  p99 added by the floor (a durable row, nothing else): "
          f"{p(floor.latencies, 0.99) - p(bare.latencies, 0.99):.2f} ms; Passerelle beyond "
          f"the floor: {p(ours.latencies, 0.99) - p(floor.latencies, 0.99):.2f} ms")


def cli() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in {"upstream", "bare", "floor", "passerelle"}:
        role, rest = sys.argv[1], sys.argv[2:]
        servers: dict[str, Any] = {"upstream": serve_upstream, "bare": serve_bare,
                                   "floor": serve_floor, "passerelle": serve_passerelle}
        servers[role](int(rest[0]), *rest[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3,
                        help="closed-loop rounds, the servers' order rotating")
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--upstream-delay-ms", type=float, default=50.0,
                        help="the DSO's answer time in the second closed loop (0: skip it)")
    parser.add_argument("--latency-requests", type=int, default=2000,
                        help="open-loop requests per server (a p99 of 500 is their fifth "
                             "largest: it moved by 0.6 ms between two runs of one commit)")
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--postgres", action="store_true",
                        help="run Passerelle on a throwaway PostgreSQL cluster (production "
                             "backend) instead of SQLite")
    parser.add_argument("--event-loop", choices=EVENT_LOOPS, default="asyncio",
                        help="the loop of the bare pass-through and of Passerelle alike")
    parser.add_argument("--sqlite-synchronous", default="full", choices=["full", "normal"],
                        help="PRAGMA synchronous of Passerelle's SQLite database")
    parser.add_argument("--check-cache-ttl", type=float, default=5.0,
                        help="Settings.check_cache_ttl; 0 reads token and consent rows on every "
                             "request (a polling workload that rarely repeats a point)")
    arguments = parser.parse_args()
    os.environ["BENCH_EVENT_LOOP"] = arguments.event_loop  # for the servers it spawns
    asyncio.run(main(arguments))


if __name__ == "__main__":
    cli()

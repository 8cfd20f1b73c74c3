"""Two commits' data paths against each other: is a change faster, on this machine, today?

The machine is shared and its speed drifts by tens of percent from one hour to the next, so
two ``bench_proxy.py`` runs taken at different times cannot compare two commits. This runs
Passerelle from two checkouts at once (each seeded and served by its own code, against one
upstream), in interleaved closed-loop rounds, and prints each one's requests/s and server CPU
per request, and their ratio. With ``--open-loop RATE`` it measures latency instead: each
Passerelle gets ``RATE`` requests per second, the two schedules interleaved, and their
percentiles are printed side by side (the added latency at moderate load, which single
``bench_proxy.py`` runs, minutes apart on a drifting machine, cannot compare).

Run: ``git worktree add /tmp/old <commit>`` then
``python bench/bench_ab.py /tmp/old [--new .] [--postgres] [--memory] [--new-loop uvloop]
[--requests 6000] [--rounds 6] [--open-loop 25]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_proxy import Target, closed_rounds, free_port, open_loop, p, wait_for
from bench.proxy_world import DurablePostgres
from proxy.server_tuning import EVENT_LOOPS

HERE = Path(__file__).resolve().parent.parent
#: Requests sent to each before an open-loop measurement (not counted).
WARM_UP = 100


def seed(checkout: Path, url: str) -> str:
    """Seed ``url`` with ``checkout``'s own code (its migrations, its world); the token."""
    code = ("import asyncio, sys; sys.path.insert(0, sys.argv[1]); "
            "from bench.proxy_world import seed; print(asyncio.run(seed(sys.argv[2])))")
    out = subprocess.run([sys.executable, "-c", code, str(checkout), url], cwd=checkout,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def serve(checkout: Path, *args: str, loop: str = "asyncio") -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(checkout / "bench" / "bench_proxy.py"), *args],
                            cwd=checkout, env={**os.environ, "BENCH_EVENT_LOOP": loop})


async def databases(stack: contextlib.ExitStack, tmp: str, postgres: bool) -> dict[str, str]:
    """One empty database per commit: SQLite files, or two databases of one durable cluster."""
    if not postgres:
        return {label: f"sqlite:///{tmp}/{label}.db" for label in ("old", "new")}
    import asyncpg  # type: ignore[import-untyped]

    url = stack.enter_context(DurablePostgres())
    admin = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for label in ("old", "new"):
            await admin.execute(f"CREATE DATABASE ab_{label}")
    finally:
        await admin.close()
    base = url.rsplit("/", 1)[0]
    return {label: f"{base}/ab_{label}" for label in ("old", "new")}


async def main(args: argparse.Namespace, old: Path, new: Path) -> None:
    mode = "memory" if args.memory else "durable"
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        urls = await databases(stack, tmp, args.postgres)
        upstream = free_port()
        procs = [serve(new, "upstream", str(upstream))]
        try:
            await wait_for(upstream)
            targets = []
            for label, checkout, loop in (("old", old, "asyncio"), ("new", new, args.new_loop)):
                url = urls[label]
                token, port = seed(checkout, url), free_port()
                # A data directory each: two databases are two evidence logs, and an
                # instance refuses to sign a log other than the one it signed before.
                data_dir = os.path.join(tmp, label)
                os.makedirs(data_dir)
                procs.append(serve(checkout, "passerelle", str(port),
                                   f"http://127.0.0.1:{upstream}", url, data_dir, mode, "full",
                                   "5", loop=loop))
                await wait_for(port)
                targets.append(Target(f"{label} ({checkout})", f"http://127.0.0.1:{port}",
                                      token, procs[-1].pid))
            if args.open_loop:
                await open_loop(targets, WARM_UP, args.open_loop)  # pools, caches, leases
                for target in targets:
                    target.latencies.clear()
                await open_loop(targets, args.requests, args.open_loop)
            else:
                await closed_rounds(targets, args.requests, args.concurrency, args.rounds)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    if args.open_loop:
        print_latencies(args, mode, targets)
        return
    print(f"closed loop, {args.concurrency} clients, {args.requests} requests each in "
          f"{args.rounds} interleaved rounds, {'PostgreSQL' if args.postgres else 'SQLite'}, "
          f"access events {mode}:")
    for target in targets:
        print(f"  {target.label:50s} {target.rps:7.0f} req/s   server CPU "
              f"{target.cpu_us:5.0f} us/request")
    print(f"  new / old: throughput {targets[1].rps / targets[0].rps:.3f}, CPU per request "
          f"{targets[1].cpu_us / targets[0].cpu_us:.3f}")


def print_latencies(args: argparse.Namespace, mode: str, targets: list[Target]) -> None:
    quantiles = (0.5, 0.9, 0.99, 0.999)
    print(f"open loop, {args.open_loop:g} req/s to each, {args.requests} requests each, "
          f"interleaved, {'PostgreSQL' if args.postgres else 'SQLite'}, access events {mode}:")
    for target in targets:
        print(f"  {target.label:50s} " + "  ".join(
            f"p{100 * q:g} {p(target.latencies, q):6.2f}" for q in quantiles) + " ms")
    old, new = targets
    print("  new - old:" + " " * 42 + "  ".join(
        f"p{100 * q:g} {p(new.latencies, q) - p(old.latencies, q):+6.2f}" for q in quantiles)
        + " ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="checkout of the commit to compare against")
    parser.add_argument("--new", default=str(HERE), help="checkout of the new commit (this one)")
    parser.add_argument("--memory", action="store_true",
                        help="access events kept in memory (the path without its durable step)")
    parser.add_argument("--postgres", action="store_true",
                        help="each commit on its own database of one durable PostgreSQL cluster")
    parser.add_argument("--new-loop", choices=EVENT_LOOPS, default="asyncio",
                        help="the new commit's event loop (the old one runs asyncio's): "
                             "`bench_ab.py . --new-loop uvloop` compares the loops alone")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--open-loop", type=float, metavar="RATE", default=0.0,
                        help="measure latency at RATE requests/s to each, the schedules "
                             "interleaved, instead of throughput (e.g. --requests 1500)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments, Path(arguments.old).resolve(), Path(arguments.new).resolve()))

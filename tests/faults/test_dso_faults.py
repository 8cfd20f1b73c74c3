"""The DSO down, slow, or answering 429 for a while: clean 502/503/504 problems, no crash, flat
memory, and full service as soon as it is back.

The replicas run with a 2 s upstream timeout and a 2 s longest quota wait (conftest), so each
phase takes seconds. Requests ask for days never fetched before, so each one needs the DSO.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import pytest

from tests.faults.conftest import World
from tests.faults.harness import Answer, Faulty, clean, read_data

pytestmark = pytest.mark.slow

PHASE = 6.0  # seconds of load per phase
PAUSE = 0.4  # seconds between two reads of one reader
#: Reads per phase at most; read ``i`` asks for the day ``10 + i`` days ago: never the same
#: day twice, and all after the simulated occupants' latest move-in (September 2025).
PER_PHASE = 60
MEMORY_SLACK_MIB = 25.0  # what a replica may grow by over all phases
RETRY_AFTER = 3  # seconds the DSO asks for with each 429


async def phase(world: World, first: int) -> list[Answer]:
    """``PHASE`` seconds of fresh-day reads by four recipients, four at a time, each pausing
    :data:`PAUSE` between reads: about ten DSO calls a second, inside the simulator's quota
    of twenty (above it, the replicas' limiter would rightly answer 503 on its own)."""
    answers: list[Answer] = []
    until = time.monotonic() + PHASE
    counter = iter(range(first, first + PER_PHASE))

    async def reader() -> None:
        async with world.faulty.session() as session:
            for i in counter:
                if time.monotonic() > until:
                    break
                answers.append(await read_data(session, world.faulty, world.tokens[i % 4], i,
                                               fresh=True))
                await asyncio.sleep(PAUSE)

    await asyncio.gather(*(reader() for _ in range(4)))
    return answers


def problem_codes(answers: list[Answer]) -> set[str]:
    """The problem ``type`` slugs of the error answers."""
    codes = set()
    for answer in answers:
        if answer.status >= 400 and answer.body.startswith("{"):
            codes.add(json.loads(answer.body)["type"].rsplit("/", 1)[-1])
    return codes


def replicas_rss(faulty: Faulty) -> list[float]:
    return [faulty.rss_mib("replica-1"), faulty.rss_mib("replica-2")]


async def test_a_failing_dso_gets_clean_errors_and_full_service_after(world: World) -> None:
    faulty = world.faulty
    await faulty.wait_until_served(world.tokens[0])
    healthy = await phase(world, 0 * PER_PHASE)  # warm: every code path has run once
    before = replicas_rss(faulty)
    pids = [faulty.pid("replica-1"), faulty.pid("replica-2")]

    faulty.kill("simulator")  # down: connection refused
    down = await phase(world, 1 * PER_PHASE)
    faulty.up()
    await faulty.faults("POST", {"kind": "timeout", "probability": 1.0, "delay": 30})
    hung = await phase(world, 2 * PER_PHASE)  # slow: no answer within the replicas' timeout
    await faulty.faults("DELETE")
    await faulty.faults("POST", {"kind": "rate_limited", "probability": 1.0,
                                 "retry_after": RETRY_AFTER})
    throttled = await phase(world, 3 * PER_PHASE)
    await faulty.faults("DELETE")
    # The replicas obey the DSO's last Retry-After (nothing is sent before it ends): wait it out.
    await asyncio.sleep(RETRY_AFTER + 0.5)
    await faulty.faults("POST", {"kind": "latency", "probability": 1.0, "delay": 0.5})
    slow = await phase(world, 4 * PER_PHASE)  # slow but within the timeout: served, just later
    await faulty.faults("DELETE")
    after = await phase(world, 5 * PER_PHASE)

    growth = [now - then for now, then in zip(replicas_rss(faulty), before, strict=True)]
    for name, answers in (("healthy", healthy), ("down", down), ("hung", hung),
                          ("429", throttled), ("slow", slow), ("after", after)):
        print(f"\nDSO {name}: {sorted(Counter(a.status for a in answers).items())} "
              f"{sorted(problem_codes(answers))}", end="")
    print(f"\nreplica RSS growth over the phases (MiB): {[round(g, 1) for g in growth]}")
    for answers in (healthy, down, hung, throttled, slow, after):
        assert answers, "every phase sent requests"
        assert [a for a in answers if not clean(a)] == []
    assert {a.status for a in healthy} == {200}
    assert {a.status for a in down} <= {503}, problem_codes(down)
    assert problem_codes(down) == {"upstream-unavailable"}
    assert {a.status for a in hung} <= {503, 504}
    assert "upstream-timeout" in problem_codes(hung)
    assert {a.status for a in throttled} == {503}
    assert problem_codes(throttled) == {"upstream-rate-limited"}
    assert {a.status for a in slow} == {200}
    assert {a.status for a in after} == {200}
    # No replica crashed or restarted, and none kept what the failures left behind.
    assert [faulty.pid("replica-1"), faulty.pid("replica-2")] == pids
    assert max(growth) < MEMORY_SLACK_MIB, growth

"""The DSO down, slow, or answering 429 for a while: clean 502/503/504 problems, no crash, flat
memory, and full service as soon as it is back.

The replicas run with a 2 s upstream timeout and a 2 s longest quota wait (conftest), so each
phase takes seconds. Requests ask for days never fetched before, so each one needs the DSO.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.faults.conftest import World
from tests.faults.harness import Answer, Faulty, clean, read_data

pytestmark = pytest.mark.slow

PHASE = 6.0  # seconds of load per phase
MEMORY_SLACK_MIB = 25.0  # what a replica may grow by over all phases


async def phase(world: World, first: int) -> list[Answer]:
    """``PHASE`` seconds of fresh-day reads by four recipients, eight at a time."""
    answers: list[Answer] = []
    until = time.monotonic() + PHASE
    counter = iter(range(first, first + 100_000))

    async def reader() -> None:
        async with world.faulty.session() as session:
            while time.monotonic() < until:
                i = next(counter)
                answers.append(await read_data(session, world.faulty, world.tokens[i % 4], i,
                                               fresh=True))

    await asyncio.gather(*(reader() for _ in range(8)))
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
    healthy = await phase(world, 0)  # warm: every code path has run once
    before = replicas_rss(faulty)
    pids = [faulty.pid("replica-1"), faulty.pid("replica-2")]

    faulty.kill("simulator")  # down: connection refused
    down = await phase(world, 10_000)
    faulty.up()
    await faulty.faults("POST", {"kind": "timeout", "probability": 1.0, "delay": 30})
    hung = await phase(world, 20_000)  # slow: no answer within the replicas' timeout
    await faulty.faults("DELETE")
    await faulty.faults("POST", {"kind": "rate_limited", "probability": 1.0, "retry_after": 30})
    throttled = await phase(world, 30_000)
    await faulty.faults("DELETE")
    await faulty.faults("POST", {"kind": "latency", "probability": 1.0, "delay": 0.5})
    slow = await phase(world, 40_000)  # slow but within the timeout: served, just later
    await faulty.faults("DELETE")
    after = await phase(world, 50_000)

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
    growth = [now - then for now, then in zip(replicas_rss(faulty), before, strict=True)]
    assert max(growth) < MEMORY_SLACK_MIB, growth

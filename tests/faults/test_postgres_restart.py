"""PostgreSQL restarted under load: errors while it is away (503 problems, never a 500 with a
trace), then full service without restarting any replica."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import pytest

from tests.faults.conftest import World
from tests.faults.harness import Answer, Household, clean, read_data

pytestmark = pytest.mark.slow

LOAD = 10.0  # seconds of load; PostgreSQL restarts two seconds in


async def test_a_database_restart_costs_errors_then_nothing(world: World) -> None:
    faulty = world.faulty
    household = Household(faulty, world.client_id)
    await household.sign_in()
    pids = [faulty.pid("replica-1"), faulty.pid("replica-2")]
    answers: list[Answer] = []
    until = time.monotonic() + LOAD

    async def reads() -> None:
        async with faulty.session() as session:
            i = 0
            while time.monotonic() < until:
                answers.append(await read_data(session, faulty, world.tokens[i % 4], i))
                i += 1
                # A steady load under the recipients' rate limit (20/s each) and the DSO's
                # quota, so that every refusal seen is the restart's doing.
                await asyncio.sleep(0.25)

    async def approvals() -> None:
        while time.monotonic() < until:
            answers.append(await household.approve())

    load = [asyncio.create_task(reads()) for _ in range(4)]
    load.append(asyncio.create_task(approvals()))
    await asyncio.sleep(2.0)
    await asyncio.to_thread(faulty.restart_postgres)
    await asyncio.gather(*load)
    await faulty.wait_until_served(world.tokens[0], limit=30)
    after = await household.approve()
    await household.close()

    print(f"\nPostgreSQL restart under load: {len(answers)} answers, statuses "
          f"{sorted(Counter(a.status for a in answers).items())}")
    assert [a for a in answers if not clean(a)] == []
    failed = [a for a in answers if a.status not in (200, 303)]
    assert failed, "the restart was noticed"
    for answer in failed:
        assert answer.status in (502, 503), answer
        if answer.status == 503 and answer.body.startswith("{"):
            assert json.loads(answer.body)["type"].endswith("/database-unavailable")
    assert after.status == 303  # consents are given again, on the same session
    assert [faulty.pid("replica-1"), faulty.pid("replica-2")] == pids  # nobody restarted

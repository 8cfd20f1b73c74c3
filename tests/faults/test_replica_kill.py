"""kill -9 a replica in the middle of a burst of consent approvals and data requests.

Afterwards: every consent whose approval was acknowledged (a 303 carrying a code) is in the
database, active, behind that code; every data request that was served (200) has its access
event; nothing answered 500; and the killed replica, restarted, serves again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from consent.access_events import ACCESS_EVENT_TABLE
from consent.models import AuthorizationCode, Consent
from consent.tokens import digest
from tests.faults.conftest import World
from tests.faults.harness import Answer, Household, clean, read_data

pytestmark = pytest.mark.slow

BURST = 8.0  # seconds of load
KILL_AT = 3.0  # seconds into the burst


async def approvals(household: Household, until: float, answers: list[Answer]) -> None:
    while time.monotonic() < until:
        answers.append(await household.approve())


async def reads(world: World, until: float, answers: list[Answer]) -> None:
    async with world.faulty.session() as session:
        i = 0
        while time.monotonic() < until:
            answers.append(await read_data(session, world.faulty, world.tokens[i % 4], i))
            i += 1


async def test_no_acknowledged_change_or_served_request_is_lost(world: World) -> None:
    faulty = world.faulty
    households = [Household(faulty, world.client_id) for _ in range(3)]
    for household in households:
        await household.sign_in()
    answers: list[Answer] = []
    until = time.monotonic() + BURST
    load = [asyncio.create_task(approvals(h, until, answers)) for h in households]
    load += [asyncio.create_task(reads(world, until, answers)) for _ in range(3)]
    await asyncio.sleep(KILL_AT)
    faulty.kill("replica-1")
    await asyncio.gather(*load)
    for household in households:
        await household.close()
    faulty.up()  # the orchestrator restarts the dead replica

    acknowledged = [a for a in answers if a.kind == "consent" and a.status == 303]
    served = [a for a in answers if a.kind == "data" and a.status == 200]
    print(f"\nkill -9 during a burst: {len(answers)} answers, statuses "
          f"{sorted(Counter(a.status for a in answers).items())}, {len(acknowledged)} consents "
          f"acknowledged, {len(served)} data requests served")
    assert len(acknowledged) >= 10
    assert len(served) >= 20
    assert [a for a in answers if not clean(a)] == []
    assert {a.status for a in answers} <= {0, 200, 303, 502, 503, 504}

    # Every acknowledged approval: its code leads to an active consent.
    code_table = AuthorizationCode.__table__  # type: ignore[attr-defined]
    consent_table = Consent.__table__  # type: ignore[attr-defined]
    found = await faulty.rows(
        sa.select(code_table.c.code_hash, consent_table.c.state)
        .join(consent_table, consent_table.c.id == code_table.c.consent_id)
        .where(code_table.c.code_hash.in_([digest(a.code) for a in acknowledged])))
    assert len(found) == len(acknowledged)
    assert {str(state) for _, state in found} == {"active"}

    # Every served answer: its access event, recorded as served, before the answer left.
    events = dict(await faulty.rows(
        sa.select(ACCESS_EVENT_TABLE.c.request_id, ACCESS_EVENT_TABLE.c.outcome).where(
            ACCESS_EVENT_TABLE.c.request_id.in_([a.request_id for a in served]))))
    assert {a.request_id: "served" for a in served} == events

    # Both replicas serve again.
    async with faulty.session() as session:
        for replica in faulty.topology.replicas:
            async with session.get(f"{replica}/readyz") as ready:
                assert ready.status == 200
    await faulty.wait_until_served(world.tokens[0])

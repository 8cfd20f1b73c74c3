"""Attempt counters reserve before the proof is checked (consent/shared_state/attempts.py):
counting and comparing are one step, so a concurrent burst, on one replica or several, gets
exactly ``limit`` attempts checked, never more; what was no guess is given back."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.shared_state.conftest import Backend
from tests.shared_state.test_contract import counters


async def test_a_reservation_counts_until_the_limit_then_says_how_long_to_wait(
        backend: Backend) -> None:
    make = counters(backend, limit=3)
    first, second = make(), make()
    granted = []
    for _ in range(3):
        granted.append(await first.reserve("alice"))
        backend.clock.advance(timedelta(minutes=1))
    refused = await second.reserve("alice")

    assert [r.granted for r in granted] == [True] * 3
    assert not refused.granted
    assert refused.ticket is None
    assert refused.wait == timedelta(minutes=12)  # first + 15 min - now
    # The refusal counted nothing: the same wait
    assert await second.retry_after("alice") == timedelta(minutes=12)
    assert (await first.reserve("bob")).granted


async def test_a_burst_of_reservations_gets_the_limit_whatever_the_concurrency(
        backend: Backend) -> None:
    make = counters(backend, limit=5)
    replicas = [make() for _ in range(3)]
    answers = await asyncio.gather(*(replicas[i % 3].reserve("alice") for i in range(30)))

    assert sum(a.granted for a in answers) == 5
    assert len({a.ticket for a in answers if a.granted}) == 5


async def test_a_released_reservation_frees_its_place_and_no_other(backend: Backend) -> None:
    make = counters(backend, limit=2)
    counter = make()
    kept = await counter.reserve("alice")
    backend.clock.advance(timedelta(minutes=1))
    given_back = await counter.reserve("alice")
    assert not (await counter.reserve("alice")).granted

    await make().release(given_back)
    await make().release(given_back)  # twice is harmless
    await make().release(await counter.reserve("alice"))  # the freed place, given back too

    assert kept.granted
    assert (await counter.reserve("alice")).granted
    assert not (await counter.reserve("alice")).granted
    # The kept one still counts: the wait ends when it leaves the window, 15 minutes after it
    # was made, a minute ago.
    assert await counter.retry_after("alice") == timedelta(minutes=14)


async def test_releasing_a_refusal_or_after_a_clear_changes_nothing(backend: Backend) -> None:
    make = counters(backend, limit=1)
    counter = make()
    held = await counter.reserve("alice")
    refused = await counter.reserve("alice")
    await counter.release(refused)
    assert not (await counter.reserve("alice")).granted

    await counter.clear("alice")
    fresh = await counter.reserve("alice")
    await counter.release(held)  # cleared already: the fresh one still counts

    assert fresh.granted
    assert not (await counter.reserve("alice")).granted

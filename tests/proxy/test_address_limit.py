"""Requests to data paths that name nobody (no token, a malformed, unknown or expired one) are
limited per client address (:mod:`proxy.data.address_limit`): within the limit each leaves its
access event (R16), past it each is answered 429 before any token is looked up and counted in
one summary event per address and minute, so that nobody can grow the database, or the
evidence log, at the rate they can send requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiohttp import web

from consent.access_events import ADDRESS_LIMIT_RULE, AccessEvent, MemorySink
from consent.clock import FrozenClock
from consent.shared_state.buckets import MemoryBuckets
from consent.storage.database import DatabaseUnavailable
from proxy.data.address_limit import AddressLimit
from proxy.keys import access_sink_key, address_limit_key, bearer_tokens_key
from proxy.metrics import Metrics
from tests.proxy.world import PRM, World, build_world

NATIVE = f"/api/v1/points/{PRM}/datasets/daily_consumption"
COMPAT = "/compat/enedis/metering_data_dc/v5/daily_consumption"
WINDOW = {"start": "2026-11-01", "end": "2026-11-08"}
BURST = 20


@pytest.fixture
async def limited(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """The world on each backend, a burst of 20 refusals per address that refills once in
    100 s (nothing refills within a test), the test's loopback peer a trusted proxy."""
    world = await build_world(database_url, tmp_path, unauthenticated_rate=0.01,
                              unauthenticated_burst=BURST, trusted_proxies="127.0.0.1")
    try:
        yield world
    finally:
        await world.client.close()


async def get(world: World, path: str, *, token: str | None = None,
              forwarded_for: str | None = None, **params: str) -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    async with world.client.get(path, params=params or WINDOW, headers=headers) as answer:
        return answer.status, await answer.json(content_type=None), answer.headers.copy()


async def close_the_minute(world: World) -> list[dict[str, Any]]:
    """Move past the current minute and write its summaries; the events written since."""
    before = len(await world.events())
    world.clock.advance(timedelta(minutes=1))
    await world.client.app[address_limit_key].flush()
    return (await world.events())[before:]


async def test_a_flood_without_a_valid_token_gets_429_and_one_summary_event(
        limited: World) -> None:
    """200 requests from one address, with no token or an unknown one: the first 20 are 401s
    with their own events; the other 180 are 429s with Retry-After, counted in one event."""
    answers = [await get(limited, NATIVE, token=None if i % 2 else f"pa_{i:040d}")
               for i in range(200)]
    statuses = [status for status, _, _ in answers]
    assert statuses[:BURST] == [401] * BURST
    assert statuses[BURST:] == [429] * (200 - BURST)
    _, body, headers = answers[-1]
    assert body["type"].endswith("/rate-limited")
    assert body["status"] == 429
    assert headers["Content-Type"].startswith("application/problem+json")
    assert 1 <= int(headers["Retry-After"]) <= 100
    events = await limited.events()
    assert [e["status"] for e in events] == [401] * BURST

    summary = await close_the_minute(limited)
    assert len(summary) == 1, summary
    event = summary[0]
    assert (event["outcome"], event["status"], event["rule"]) == ("denied", 429,
                                                                  ADDRESS_LIMIT_RULE)
    assert event["values"] == 200 - BURST  # the requests it stands for
    assert event["recipient_id"] is None
    assert event["api"] == "native"
    assert "180 requests" in event["reason"]
    assert "127.0.0.1" not in event["reason"]
    assert "pa_" not in event["reason"]  # nothing of a token
    assert await close_the_minute(limited) == []  # a quiet minute writes nothing


async def test_past_the_limit_no_token_is_looked_up(limited: World) -> None:
    """The refusal comes first: even a valid token from that address is not read."""
    for _ in range(BURST + 1):
        await get(limited, NATIVE)
    tokens = limited.client.app[bearer_tokens_key]
    valid = await limited.token("dash")
    looked_up: list[str] = []
    find = tokens.find

    async def spy(raw: str) -> Any:
        looked_up.append(raw)
        return await find(raw)

    tokens.find = spy  # type: ignore[method-assign]
    status, _, _ = await get(limited, NATIVE, token=valid)
    assert status == 429
    assert looked_up == []


async def test_the_compatible_api_refuses_in_data_connects_shape(limited: World) -> None:
    for _ in range(BURST):
        status, body, _ = await get(limited, COMPAT, usage_point_id=PRM.identifier, **WINDOW)
        assert status == 401
    status, body, headers = await get(limited, COMPAT, usage_point_id=PRM.identifier, **WINDOW)
    assert status == 429
    assert body == {"error": "Quota Q3 reached",
                    "error_description": "Call threshold allowed for this application reached."}
    assert int(headers["Retry-After"]) >= 1
    summary = await close_the_minute(limited)
    assert [(e["api"], e["values"]) for e in summary] == [("compat/enedis", 1)]


async def test_addresses_are_limited_apart_ipv6_by_its_64(limited: World) -> None:
    """Behind a trusted proxy the client is X-Forwarded-For's; an IPv6 /64 is one client."""
    for i in range(BURST):
        assert (await get(limited, NATIVE, forwarded_for=f"2001:db8::{i + 1:x}"))[0] == 401
    assert (await get(limited, NATIVE, forwarded_for="2001:db8::ffff"))[0] == 429
    assert (await get(limited, NATIVE, forwarded_for="2001:db8:0:1::1"))[0] == 401
    assert (await get(limited, NATIVE, forwarded_for="203.0.113.9"))[0] == 401
    valid = await limited.token("dash")
    status, _, _ = await get(limited, NATIVE, token=valid, forwarded_for="203.0.113.10")
    assert status == 200
    summary = await close_the_minute(limited)
    assert [e["values"] for e in summary] == [1]


async def test_a_valid_token_spends_nothing(limited: World) -> None:
    valid = await limited.token("dash")
    for _ in range(BURST + 5):
        assert (await get(limited, NATIVE, token=valid))[0] == 200
    assert (await get(limited, NATIVE))[0] == 401


async def test_concurrent_requests_are_counted_once_each(limited: World) -> None:
    """60 at once: exactly the burst are evidenced one by one, the rest in the summary."""
    answers = await asyncio.gather(*(get(limited, NATIVE) for _ in range(60)))
    assert sorted(status for status, _, _ in answers) == [401] * BURST + [429] * 40
    assert len(await limited.events()) == BURST
    assert [e["values"] for e in await close_the_minute(limited)] == [40]


async def test_the_summaries_of_an_open_minute_are_written_at_shutdown(
        database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url, tmp_path, unauthenticated_rate=0.01,
                              unauthenticated_burst=2)
    for _ in range(5):
        await get(world, NATIVE)
    await world.client.app[address_limit_key].close()  # what the application's cleanup does
    events = await world.events()
    await world.client.close()
    assert [(e["status"], e["values"]) for e in events] == [(401, 0), (401, 0), (429, 3)]


async def test_forwarded_for_from_an_untrusted_peer_changes_nothing(
        database_url: str, tmp_path: Path) -> None:
    """No trusted proxy: a client cannot pick a fresh address per request (RFC 7239 §8.1)."""
    world = await build_world(database_url, tmp_path, unauthenticated_rate=0.01,
                              unauthenticated_burst=2)
    try:
        statuses = [(await get(world, NATIVE, forwarded_for=f"198.51.100.{i}"))[0]
                    for i in range(4)]
    finally:
        await world.client.close()
    assert statuses == [401, 401, 429, 429]


async def test_a_client_leaving_mid_request_spends_its_turn(limited: World) -> None:
    """A request abandoned while its token is looked up (the test server cancels its
    handler) still leaves its event, status 499, and counts against its address."""
    tokens = limited.client.app[bearer_tokens_key]
    find = tokens.find
    started = asyncio.Event()

    async def slow(raw: str) -> Any:
        started.set()
        await asyncio.sleep(0.3)
        return await find(raw)

    tokens.find = slow  # type: ignore[method-assign]
    asked = asyncio.ensure_future(get(limited, NATIVE, token="pa_" + "0" * 40))
    await started.wait()
    asked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asked
    for _ in range(100):
        if await limited.events():
            break
        await asyncio.sleep(0.05)
    tokens.find = find  # type: ignore[method-assign]
    assert [e["status"] for e in await limited.events()] == [499]
    statuses = [(await get(limited, NATIVE))[0] for _ in range(BURST)]
    assert statuses == [401] * (BURST - 1) + [429]


class _FailingOnce(MemorySink):
    """A sink whose first append fails, as a database outage makes it (nothing durable)."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    async def append(self, event: AccessEvent) -> None:
        if not self.failed:
            self.failed = True
            raise DatabaseUnavailable("the database is down")
        await super().append(event)


async def test_summaries_a_failed_flush_could_not_write_are_written_by_the_next() -> None:
    """sweep_forever retries a failed flush at the next interval: the summaries it could not
    make durable must still be there to write, or the refusals they count leave no trace
    (R16)."""
    clock = FrozenClock(datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC))
    sink = _FailingOnce()
    limit = AddressLimit(MemoryBuckets(0.01, 1), sink, clock, Metrics(), b"secret")
    for address in ("203.0.113.7", "198.51.100.9"):
        request = cast(web.Request, SimpleNamespace(remote=address))
        for _ in range(3):
            limit.tally(request, "native", "/api/v1/points", b"{}", "req-1")
    clock.advance(timedelta(minutes=1))
    with pytest.raises(DatabaseUnavailable):
        await limit.flush()
    assert await limit.flush() == 2
    assert sorted(e.values for e in sink.events) == [3, 3]


async def test_summaries_that_cannot_be_written_at_shutdown_stop_nothing_else(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The last summaries failing to be written (the database gone) is logged, and the rest of
    the shutdown still runs: the access sink, which every served event waits on, is closed."""
    world = await build_world(database_url, tmp_path)
    sink = world.client.app[access_sink_key]
    closed: list[bool] = []
    close = sink.close

    async def closing() -> None:
        closed.append(True)
        await close()

    async def lost() -> None:
        raise DatabaseUnavailable("gone")

    monkeypatch.setattr(sink, "close", closing)
    monkeypatch.setattr(world.client.app[address_limit_key], "close", lost)
    await world.client.close()
    assert closed == [True]
    assert "last summaries could not be written" in caplog.text


async def test_refusals_over_are_forgotten_at_the_next_flush() -> None:
    """Once an address's refusal is over, the next flush forgets it: requests from other
    addresses stop paying for parsing their own (found by the session's last review: it stayed
    until that one address asked again)."""
    now = [0.0]
    clock = FrozenClock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    limit = AddressLimit(MemoryBuckets(1.0, 1), MemorySink(), clock, Metrics(), b"secret",
                         seconds=lambda: now[0])
    request = cast(web.Request, SimpleNamespace(remote="203.0.113.7"))
    assert await limit.spend(request) is None
    assert await limit.spend(request) is not None  # past the burst: refused for a while
    assert limit.refusal(request) is not None
    now[0] += 5.0
    await limit.flush()
    assert not limit._refused

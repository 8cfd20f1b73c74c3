"""A seeded Passerelle on 127.0.0.1 for the fuzzers, served from a thread of its own.

schemathesis sends its requests with blocking ``requests`` calls, so the server cannot share the
test's event loop: it runs the world of ``tests/proxy/world.py`` (one household, a point with
two years of data, apps ``dash`` and ``coach`` with consents and tokens) in a thread with its
own loop, and stops it at the end of the module.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.proxy.world import build_world


@dataclass(frozen=True)
class Target:
    """The running server and the credentials a fuzzer may use."""

    url: str
    token: str  # an app-wide access token of ``dash``
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    ready = threading.Event()
    found: dict[str, object] = {}

    async def serve() -> None:
        world = await build_world(f"sqlite:///{directory / 'fuzz.db'}", directory / "instance",
                                  rate=1e6, burst=10**6)
        stop = asyncio.Event()
        client_id, secret = world.credentials["dash"]
        found.update(target=Target(world.issuer, await world.token("dash"), client_id, secret),
                     loop=asyncio.get_running_loop(), stop=stop)
        ready.set()
        try:
            await stop.wait()
        finally:
            await world.client.close()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="fuzz-server")
    thread.start()
    if not ready.wait(60):
        raise RuntimeError("the fuzz server did not start")
    loop, stop = found["loop"], found["stop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    assert isinstance(stop, asyncio.Event)
    target = found["target"]
    assert isinstance(target, Target)
    try:
        yield target
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)

"""proxy/web/body.py read_capped on a real server: whole bodies, the cap, a body cut off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from proxy.middlewares import error_middleware
from proxy.web.body import IncompleteBody, read_capped

LIMIT = 1000


SEEN: list[object] = []


async def echo(request: web.Request) -> web.Response:
    try:
        body = await read_capped(request, LIMIT)
    except (IncompleteBody, asyncio.CancelledError) as exc:
        SEEN.append(exc)
        raise
    SEEN.append(body)
    return web.json_response({"size": None if body is None else len(body)})


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    SEEN.clear()
    app = web.Application(middlewares=[error_middleware])
    app.router.add_post("/", echo)
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.mark.parametrize("size", [0, 1, LIMIT])
async def test_a_body_in_many_pieces_is_read_whole(
        client: TestClient[web.Request, web.Application], size: int) -> None:
    async def pieces() -> AsyncIterator[bytes]:  # chunked, with pauses between chunks
        for start in range(0, size, 97):
            yield b"x" * min(97, size - start)
            await asyncio.sleep(0.001)

    async with client.post("/", data=pieces()) as r:
        assert (await r.json())["size"] == size


async def test_a_body_over_the_cap_is_none_whether_announced_or_not(
        client: TestClient[web.Request, web.Application]) -> None:
    async with client.post("/", data=b"x" * (LIMIT + 1)) as r:  # Content-Length says so
        assert (await r.json())["size"] is None

    async def pieces() -> AsyncIterator[bytes]:  # chunked: only counting tells
        for _ in range(LIMIT // 100 + 1):
            yield b"y" * 100

    async with client.post("/", data=pieces()) as r:
        assert (await r.json())["size"] is None


async def test_a_body_cut_off_is_never_taken_for_the_body(
        client: TestClient[web.Request, web.Application]) -> None:
    """Never the 100 bytes that came as if they were the body: the handler is cancelled when
    the client goes away (aiohttp's default) or, if it reads on, gets IncompleteBody."""
    _reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b"z" * 100)
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()  # the client goes away 400 bytes short
    for _ in range(100):
        if SEEN:
            break
        await asyncio.sleep(0.01)
    assert len(SEEN) == 1
    assert isinstance(SEEN[0], IncompleteBody | asyncio.CancelledError)

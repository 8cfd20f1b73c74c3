"""A malformed request line or header is answered 4xx and logged as one line without a
traceback (:mod:`proxy.protocol_log`): anyone can send one, so each must not cost the logs a
full ERROR traceback (aiohttp's default for a parse error), nor carry the request line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from aiohttp import web

from tests.ops.conftest import running


async def _raw(host: str, port: int, data: bytes) -> bytes:
    """Send ``data`` on a new connection; what the server answers before it closes."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()


@pytest.mark.parametrize("request_bytes", [
    b"GET /" + b"a" * 20_000 + b"?usage_point_id=22516914714270 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 20_000 + b"\r\n\r\n",
    b"GET / HTTP/1.1 trailing\r\nHost: x\r\n\r\n",
], ids=["long-request-line", "long-header", "bad-request-line"])
async def test_a_malformed_request_is_one_line_without_a_traceback(
        make_app: Callable[..., web.Application], caplog: pytest.LogCaptureFixture,
        request_bytes: bytes) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(make_app()) as client:
        assert client.port is not None
        answer = await _raw(client.host, client.port, request_bytes)

    assert answer.split(b" ", 2)[1].startswith(b"4"), answer[:80]
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records, "the refusal is logged"
    assert all(r.exc_info is None and r.exc_text is None for r in records)
    assert all(logging.INFO <= r.levelno <= logging.WARNING for r in records)
    text = "\n".join(r.getMessage() for r in records)
    assert "aaaa" not in text
    assert "bbbb" not in text
    assert "22516914714270" not in text
    assert len(text) < 300


async def test_a_failing_handler_still_logs_its_traceback(
        make_app: Callable[..., web.Application], caplog: pytest.LogCaptureFixture) -> None:
    """Only the client's malformed requests are quieted, never our own errors."""
    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("ours")

    app = make_app()
    app.router.add_get("/test/broken", broken)
    async with running(app) as client:
        response = await client.get("/test/broken")
    assert response.status == 500
    assert any(r.exc_info is not None and r.levelno == logging.ERROR for r in caplog.records)

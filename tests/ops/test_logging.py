"""Logs carry request ids and never personal data: no point id, token, cookie, query string."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from proxy.logging_setup import JsonFormatter, RedactingFilter, configure_logging, redact
from proxy.observability import SafeAccessLogger
from tests.ops.conftest import running

PRM = "22516914714270"
EAN = "541449100000001236"
TOKEN = "eyJhbGciOiJFZERTQSJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"
COOKIE = "PASSERELLE_SESSION=c2Vzc2lvbi1zZWNyZXQ"

log = logging.getLogger("passerelle.test")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything logged during the test, as the production JSON handler writes it."""
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    handler = configure_logging("json", "INFO", stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for old in before[0]:
            root.addHandler(old)
        root.setLevel(before[1])


async def chatty(request: web.Request) -> web.Response:
    """A careless handler: logs the point, the header, the URL, then fails."""
    log.info("reading %s with %s", request.match_info["ref"], request.headers["Authorization"])
    log.warning("upstream said no", extra={"url": str(request.url), "cookie": COOKIE})
    raise RuntimeError(f"GET https://dso.example/v5/daily?usage_point_id={PRM} failed "
                       f"(Authorization: Bearer {TOKEN})")


async def test_a_careless_handler_leaks_no_token_point_or_cookie(
        make_app: Callable[..., web.Application], captured: io.StringIO) -> None:
    app = make_app()
    app.router.add_get("/test/points/{ref}", chatty)
    async with running(app, access_log_class=SafeAccessLogger) as client:
        response = await client.get(f"/test/points/{PRM}?usage_point_id={PRM}&code=abc",
                                    headers={"Authorization": f"Bearer {TOKEN}",
                                             "Cookie": COOKIE})
        request_id = response.headers["X-Request-Id"]

    assert response.status == 500
    output = captured.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    for secret in (PRM, TOKEN, "c2Vzc2lvbi1zZWNyZXQ", "code=abc"):
        assert secret not in output
    ours = [entry for entry in lines if entry.get("request_id") == request_id]
    assert {e["logger"] for e in ours} >= {"passerelle.test", "passerelle.http",
                                           "aiohttp.access"}
    access = next(e for e in ours if e["logger"] == "aiohttp.access")
    assert access["route"] == "/test/points/{ref}"
    assert access["status"] == 500
    assert "RuntimeError" in next(e for e in ours if e["logger"] == "passerelle.http")["exc"]


@pytest.mark.parametrize("line", [
    f"GET /test/points/{PRM}?q={'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n",
    f"GET /test/points/{PRM} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}"
    f"{'a' * 9000}\r\n\r\n",
], ids=["request line", "header"])
async def test_a_request_refused_by_the_http_parser_is_logged_once_and_safely(
        make_app: Callable[..., web.Application], captured: io.StringIO, line: str) -> None:
    """aiohttp answers an over-long line 400 itself, before any route: the access log still
    writes its line (route ``unmatched``), with no crash of its own, and the parser's message
    (the line's first bytes) leaks no token."""
    app = make_app()
    app.router.add_get("/test/points/{ref}", chatty)
    async with running(app, access_log_class=SafeAccessLogger) as client:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(line.encode())
        await writer.drain()
        answer = await reader.read()
        writer.close()

    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"400"
    output = captured.getvalue()
    entries = [json.loads(entry) for entry in output.splitlines()]
    assert "Unhandled exception" not in output
    access = [e for e in entries if e["logger"] == "aiohttp.access"]
    assert [(e["route"], e["status"]) for e in access] == [("unmatched", 400)]
    for secret in (PRM, TOKEN):
        assert secret not in output


@given(prefix=st.text(max_size=20), suffix=st.text(max_size=20),
       point=st.from_regex(r"\A(\d{14}|54\d{16}|GI\d{6})\Z"))
def test_any_point_identifier_is_redacted(prefix: str, suffix: str, point: str) -> None:
    text = f"{prefix} {point} {suffix}"

    assert point not in redact(text)


@pytest.mark.parametrize("secret", [
    f"Authorization: Bearer {TOKEN}",
    f"access_token={TOKEN}&x=1",
    f"postgresql://passerelle:{TOKEN}@db:5432/passerelle",
    f"client_secret={TOKEN}",
    f"{{'authorization': 'DPoP {TOKEN}'}}",
    # authlib's DEBUG line for each token it issues: the token dict's repr
    f"Issue token {{'access_token': '{TOKEN}', 'token_type': 'Bearer'}} to <client>",
    f'{{"refresh_token": "{TOKEN}"}}',
    f"{{'token': '{TOKEN}'}}", f'{{"passwd": "{TOKEN}"}}', f"{{'secret': 'x\\'{TOKEN}'}}",
])
def test_credentials_are_redacted(secret: str) -> None:
    assert TOKEN not in redact(f"calling with {secret} now")


@pytest.mark.parametrize("prefix", ["pas_at_", "pas_rt_", "pas_ac_", "pas_cs_", "pas_ss_",
                                    "pas_adm_", "pas_iat_", "pas_stf_", "pas_aud_"])
def test_our_prefixed_secrets_are_redacted_wherever_they_appear(prefix: str) -> None:
    secret = prefix + "Zk3_9-aQ"

    assert secret.removeprefix(prefix) not in redact(f"odd place ({secret}), reprs: [{secret!r}]")


def test_ordinary_text_survives_redaction() -> None:
    text = "consent 3f2a withdrawn at 2026-11-22T09:00:00Z; 12 events, rule R8 occupancy"

    assert redact(text) == text


def test_a_text_line_carries_the_request_id_and_the_ean_does_not_survive() -> None:
    record = logging.LogRecord("passerelle.test", logging.INFO, __file__, 1,
                               "point %s", (EAN,), None)
    record.request_id = "abcd1234"
    RedactingFilter().filter(record)

    entry = json.loads(JsonFormatter().format(record))

    assert entry == {"ts": entry["ts"], "level": "info", "logger": "passerelle.test",
                     "msg": "point [point]", "request_id": "abcd1234"}


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="json"):
        configure_logging("xml")


async def test_debug_logging_shows_no_statement_parameters(tmp_path: object) -> None:
    """Drivers log statements with their parameters (token digests...) at DEBUG or INFO: even
    an operator who turns DEBUG on gets none of them."""
    from consent.storage import Database

    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    handler = configure_logging("text", "DEBUG", stream=stream)
    db = Database.from_url(f"sqlite:///{tmp_path}/log.db")
    try:
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT ?", ("digest-0123456789abcdef",))
    finally:
        await db.dispose()
        root.removeHandler(handler)
        for old in before[0]:
            root.addHandler(old)
        root.setLevel(before[1])
    assert "digest-0123456789abcdef" not in stream.getvalue()

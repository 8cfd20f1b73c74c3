"""A DSO's 429 and 5xx as they really come (found by review): Retry-After as an HTTP-date, a
fraction, a negative number or not at all; error pages that are not JSON. Each must hold the
quota for as long as the DSO means, and tell the recipient how long to wait."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from adapters.base import Quota
from adapters.enedis.errors import classify
from adapters.errors import QuotaBusy, UpstreamRateLimited, UpstreamUnavailable
from adapters.fakes.common import serve
from adapters.inhouse.client import InhouseClient
from adapters.quota import QuotaPlan
from adapters.retry_after import MAX_RETRY_AFTER, retry_after_seconds
from adapters.tokens import ClientCredentials
from adapters.transport import RetryPolicy, UpstreamTransport
from consent.clock import FrozenClock
from consent.shared_state.tokens import CachedToken, MemoryTokens
from tests.adapters.support import inhouse_dso
from tests.contract.harnesses import LONG, NOW, clocked_limiter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PLAN = QuotaPlan("enedis-app", (Quota(5, timedelta(seconds=1)),
                                Quota(1000, timedelta(hours=1), "api")), frozenset({"m"}))
SENT = "Tue, 24 Nov 2026 10:00:00 GMT"


@pytest.mark.parametrize(("value", "date", "seconds"), [
    ("60", None, 60), (" 60 ", None, 60), ("0", None, 0), ("1.5", None, 2),
    ("99999999", None, MAX_RETRY_AFTER), ("9" * 5000 + ".5", None, MAX_RETRY_AFTER),
    ("3599.25", None, 3600), ("00005", None, 5), ("0" * 5000 + "7", None, 7),
    ("-5", None, None), ("", None, None),
    ("soon", None, None), ("1e3", None, None),
    ("Tue, 24 Nov 2026 10:02:00 GMT", SENT, 120),  # counted from the answer's Date
    ("Tue, 24 Nov 2026 09:00:00 GMT", SENT, 0),  # already past
    ("Wed, 25 Nov 2026 10:00:00 GMT", SENT, MAX_RETRY_AFTER),
])
def test_retry_after_in_every_form_rfc_9110_allows(value: str, date: str | None,
                                                   seconds: int | None) -> None:
    assert retry_after_seconds(value, date) == seconds


@given(st.text(max_size=40), st.none() | st.text(max_size=40))
def test_any_retry_after_is_a_bounded_wait_or_none(value: str, date: str | None) -> None:
    seconds = retry_after_seconds(value, date)
    assert seconds is None or 0 <= seconds <= MAX_RETRY_AFTER


async def _rate_limited_dso(retry_after: Callable[[], str | None],
                            ) -> tuple[web.Application, list[str]]:
    """A DSO whose data route always answers Enedis's 429, with ``retry_after()``."""
    hits: list[str] = []

    async def token(_: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "token_type": "Bearer",
                                  "expires_in": "3600"})

    async def data(_: web.Request) -> web.Response:
        hits.append("data")
        answer = web.json_response({"error": "Quota Q4 reached",
                                    "error_description": "Call threshold allowed on 0:59:12"},
                                   status=429)
        value = retry_after()
        if value is not None:
            answer.headers["Retry-After"] = value
        return answer

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_get("/data", data)
    return app, hits


async def _poll(app: web.Application, clock: FrozenClock, seconds: int,
                ) -> list[UpstreamRateLimited]:
    """One request a second for ``seconds`` through the transport; the 429s it passed on."""
    limiter = clocked_limiter(clock)
    refused: list[UpstreamRateLimited] = []
    async with serve(app) as url, aiohttp.ClientSession() as session:
        token = ClientCredentials(session, url + "/token", "id", "secret", clock=clock)
        transport = UpstreamTransport(session, url, token=token, limiter=limiter, plan=PLAN,
                                      classify=classify, retry=RetryPolicy(attempts=1))
        for _ in range(seconds):
            try:
                await transport.request("GET", "/data", api="m")
            except QuotaBusy:
                pass
            except UpstreamRateLimited as error:
                refused.append(error)
            clock.advance(timedelta(seconds=1))
    return refused


async def test_an_http_date_retry_after_holds_the_quota_until_then() -> None:
    clock = FrozenClock(NOW)
    app, hits = await _rate_limited_dso(
        lambda: format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True))
    refused = await _poll(app, clock, 60)
    assert len(hits) == 1  # nothing more within the two minutes asked for
    assert refused[0].retry_after is not None
    assert 118 <= refused[0].retry_after <= 121


@pytest.mark.parametrize("value", [None, "-5", "0", "later"])
async def test_a_429_naming_no_wait_is_probed_ever_more_rarely(value: str | None) -> None:
    """Enedis's hourly "Quota Q4 reached" comes without Retry-After: a request a second for a
    minute must not be refused 30 times by the DSO (the shortest window, doubled each time:
    1, 2, 4, 8, 16, 32 s), and each refusal tells the recipient the wait applied."""
    clock = FrozenClock(NOW)
    app, hits = await _rate_limited_dso(lambda: value)
    refused = await _poll(app, clock, 60)
    assert 4 <= len(hits) <= 7, hits
    waits = [error.headers["Retry-After"] for error in refused]
    assert [int(w) for w in waits] == sorted(int(w) for w in waits)  # growing
    assert int(waits[-1]) >= 16


@pytest.mark.parametrize(("status", "body", "content_type", "error"), [
    (429, "Too Many Requests", "text/plain", UpstreamRateLimited),
    (503, "<html><body>Service Unavailable</body></html>", "text/html", UpstreamUnavailable),
    (502, "", "text/html", UpstreamUnavailable),
])
async def test_an_error_page_that_is_not_json_keeps_its_status_and_retry_after(
        status: int, body: str, content_type: str, error: type[UpstreamUnavailable]) -> None:
    """A gateway's page in front of the in-house DSO: its status and Retry-After decide (a
    503 to the recipient, with the wait), and a 429 holds the quota, whatever the body."""
    failing = [True]

    def gateway(request: web.Request) -> web.StreamResponse | None:
        if request.path.endswith("/occupancy") and failing[0]:
            return web.Response(status=status, text=body, content_type=content_type,
                                headers={"Retry-After": "60"})
        return None

    async with inhouse_dso(Quota(100, timedelta(seconds=1)),
                           Quota(100, timedelta(hours=1), "api"), gateway=gateway) as dso:
        await dso.client.capabilities()
        with pytest.raises(UpstreamUnavailable) as first:
            await dso.client.occupancy(LONG)
        failing[0] = False
        dso.clock.advance(timedelta(seconds=5))
        later: Any
        try:
            later = await dso.client.occupancy(LONG)
        except QuotaBusy as busy:
            later = busy
    arrivals = [family for family in dso.arrivals if family == "occupancy"]
    assert type(first.value) is error
    assert (first.value.status, first.value.headers) == (503, {"Retry-After": "60"})
    if status == 429:  # held for the minute asked: nothing sent five seconds later
        assert isinstance(later, QuotaBusy)
        assert len(arrivals) == 1
    else:
        assert not isinstance(later, QuotaBusy)


@pytest.mark.parametrize(("status", "retry_after", "hold"), [
    (503, None, 2), (429, "30", 30), (502, "5", 5)])
async def test_a_failed_token_endpoint_is_left_alone_for_a_while(
        status: int, retry_after: str | None, hold: int) -> None:
    """During an outage every request used to send its own token request: the token
    endpoint is now asked once, then left alone for its Retry-After (2 s without one); the
    requests meanwhile get the same answer, with the wait left."""
    clock = FrozenClock(NOW)
    asked: list[str] = []

    async def token(_: web.Request) -> web.Response:
        asked.append("token")
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return web.Response(status=status, text="down", headers=headers)

    app = web.Application()
    app.router.add_post("/token", token)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        credentials = ClientCredentials(session, url + "/token", "id", "secret", clock=clock)
        errors = []
        for _ in range(5):
            with pytest.raises(UpstreamUnavailable) as failed:
                await credentials.bearer()
            errors.append(failed.value)
            clock.advance(timedelta(seconds=hold / 5 * 0.9))
        assert len(asked) == 1
        assert errors[0].retry_after == (None if retry_after is None else hold)
        assert all(e.retry_after is not None and 0 < e.retry_after <= hold for e in errors[1:])
        assert (errors[0].status, type(errors[0]) is UpstreamRateLimited) == (503, status == 429)
        clock.advance(timedelta(seconds=hold))
        with pytest.raises(UpstreamUnavailable):
            await credentials.bearer()
        assert len(asked) == 2  # asked again once the hold is over


async def test_the_inhouse_client_leaves_a_failed_token_endpoint_alone() -> None:
    """The in-house client had its own token code, without the hold: every request during
    a token endpoint's outage sent a token request. It now uses :class:`ClientCredentials`."""
    clock = FrozenClock(NOW)
    asked: list[str] = []

    async def token(_: web.Request) -> web.Response:
        asked.append("token")
        return web.Response(status=503, text="down", headers={"Retry-After": "10"})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        client = InhouseClient(session, url, "id", "secret", clock=clock)
        for _ in range(3):
            with pytest.raises(UpstreamUnavailable) as failed:
                await client.capabilities()
            clock.advance(timedelta(seconds=3))
        assert len(asked) == 1
        assert failed.value.retry_after == 4  # what is left of the ten seconds
        clock.advance(timedelta(seconds=2))
        with pytest.raises(UpstreamUnavailable):
            await client.capabilities()
        assert len(asked) == 2


async def test_a_token_endpoint_redirect_is_not_followed() -> None:
    """The operator's credentials go to the configured endpoint only: a redirect (a
    misconfigured proxy, a captured DNS name) is a failed endpoint, not a second POST."""
    asked: list[str] = []

    async def token(_: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        asked.append(request.headers.get("Authorization", ""))
        return web.json_response({"access_token": "t", "token_type": "Bearer",
                                  "expires_in": 3600})

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_post("/elsewhere", elsewhere)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        credentials = ClientCredentials(session, url + "/token", "id", "secret")
        with pytest.raises(UpstreamUnavailable, match="HTTP 307"):
            await credentials.bearer()
    assert asked == []


class CountingStore(MemoryTokens):
    """A token store counting its reads (each one a database round trip when shared)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def get(self, key: str) -> CachedToken | None:
        self.reads += 1
        return await super().get(key)


async def test_a_fresh_token_is_used_without_asking_the_store() -> None:
    """Each DSO call read the shared store (a database round trip with replicas); this
    process's fresh copy now serves, and a refused one is dropped here too."""
    served: list[str] = []

    async def token(_: web.Request) -> web.Response:
        served.append(f"token-{len(served)}")
        return web.json_response({"access_token": served[-1], "token_type": "Bearer",
                                  "expires_in": 3600})

    app = web.Application()
    app.router.add_post("/token", token)
    store = CountingStore()
    async with serve(app) as url, aiohttp.ClientSession() as session:
        credentials = ClientCredentials(session, url + "/token", "id", "secret", cache=store)
        first = [await credentials.bearer() for _ in range(5)]
        reads = store.reads
        await credentials.refused("token-0")
        again = await credentials.bearer()
    assert first == ["token-0"] * 5
    assert reads == 2  # the first call's, before the renewal lock and again under it
    assert again == "token-1"
    stored = await store.get(credentials.key)
    assert stored is not None
    assert stored.value == "token-1"

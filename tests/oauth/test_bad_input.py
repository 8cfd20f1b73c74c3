"""Bad input gets the standard OAuth error or a clear 400, never a 500 (issue 3, "Bad input")."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.errors import DomainError
from consent.scopes import parse_request
from proxy.app import create_app
from proxy.settings import Settings
from tests.oauth.conftest import REDIRECT_URI, Browser, Running, query_of
from tests.oauth.helpers import authorize_url, exchange_code, get_code, token_request
from tests.ops.conftest import running


async def error_page(browser: Browser, url: str, code: str = "invalid_request") -> None:
    response, html = await browser.get(url)
    assert response.status == 400, html
    assert "Location" not in response.headers
    assert code in html


async def test_duplicated_oversized_and_malformed_authorize_parameters(
        passerelle: Running, browser: Browser) -> None:
    base = authorize_url(passerelle)
    await error_page(browser, base + "&client_id=" + passerelle.world.client_id)
    await error_page(browser, base + "&state=again")
    await error_page(browser, base + "&scope=" + "x" * 3000)
    await error_page(browser, base + "&state=%ff%fe")
    await error_page(browser, base + "&" + "&".join(f"p{i}=1" for i in range(60)))


async def test_forbidden_characters_in_redirect_uri_are_a_400_not_a_500(
        passerelle: Running, browser: Browser) -> None:
    # authlib raises ValueError when asked to echo such characters in an error description.
    await error_page(browser, authorize_url(passerelle, redirect_uri=REDIRECT_URI + '"x'))
    await error_page(browser, authorize_url(passerelle, redirect_uri=REDIRECT_URI + "é"))


@pytest.mark.parametrize(("overrides", "error"), [
    ({"scope": "daily_consumption nonsense"}, "invalid_scope"),
    ({"scope": "identity"}, "invalid_scope"),  # a dataset the client did not register
    ({"scope": None}, "invalid_scope"),        # nothing asked at all
    ({"authorization_details": "{not json"}, "invalid_authorization_details"),
    ({"authorization_details": '[{"type":"payment"}]'}, "invalid_authorization_details"),
    ({"authorization_details": json.dumps([{
        "type": "meter_data", "datasets": ["daily_consumption"],
        "points": ["enedis:22516914714270", "enedis:22516914714271",
                   "enedis:30001234567890"]}])}, "invalid_authorization_details"),  # R14
    ({"authorization_details": json.dumps([{
        "type": "meter_data", "datasets": ["daily_consumption"], "history": "P4Y"}])},
     "invalid_authorization_details"),  # R12
    ({"authorization_details": json.dumps([{
        "type": "meter_data", "datasets": ["daily_consumption"], "duration": "P9999Y"}])},
     "invalid_authorization_details"),  # past year 9999: was a ValueError, a 500
    ({"authorization_details": json.dumps([{
        "type": "meter_data", "datasets": ["daily_consumption"], "history": "P9999Y"}])},
     "invalid_authorization_details"),
    ({"authorization_details": json.dumps([{
        "type": "meter_data", "datasets": ["daily_consumption"],
        "purpose": "research"}])}, "invalid_authorization_details"),  # not declared
])
async def test_authorization_errors_redirect_to_the_registered_uri(
        passerelle: Running, browser: Browser, overrides: dict[str, str | None],
        error: str) -> None:
    response, _ = await browser.get(authorize_url(passerelle, **overrides))
    assert response.status == 303
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = query_of(location)
    assert params["error"] == error
    assert params["state"] == "st4te"
    assert params["iss"] == passerelle.url


async def test_token_endpoint_rejects_malformed_requests(passerelle: Running,
                                                        browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    auth = {"Authorization": aiohttp.encode_basic_auth(passerelle.world.client_id,
                                                       passerelle.world.client_secret)}
    async with aiohttp.ClientSession() as session:
        url = passerelle.url + "/oauth2/token"
        cases = [
            dict(json={"grant_type": "authorization_code"}),
            dict(data="grant_type=authorization_code&grant_type=refresh_token",
                 headers={"Content-Type": "application/x-www-form-urlencoded"}),
            dict(data="grant_type=client_credentials&x=" + "y" * 40_000,
                 headers={"Content-Type": "application/x-www-form-urlencoded"}),
            dict(data=b"grant_type=client_credentials&x=\xff",
                 headers={"Content-Type": "application/x-www-form-urlencoded"}),
            dict(data={"grant_type": "client_credentials"}, params={"scope": "contract"}),
        ]
        for case in cases:
            headers = {**auth, **case.pop("headers", {})}  # type: ignore[dict-item]
            async with session.post(url, headers=headers, **case) as r:  # type: ignore[arg-type]
                assert r.status == 400, case
                body = await r.json()
                assert body["error"] == "invalid_request", (case, body)
                assert r.headers["Cache-Control"] == "no-store"
    # The code survived all that: a well-formed request still works.
    status, _tokens = await exchange_code(passerelle, code, verifier)
    assert status == 200


async def test_client_authentication_errors(passerelle: Running) -> None:
    data = {"grant_type": "client_credentials"}
    status, body, r = await token_request(passerelle, data,
                                          auth=(passerelle.world.client_id, "wrong"))
    assert (status, body["error"]) == (401, "invalid_client")
    assert r.headers["WWW-Authenticate"].startswith("Basic ")
    # Our sentence, not authlib's (which named the methods the client is registered for).
    assert body["error_description"] == "Client authentication failed."
    status, body, r = await token_request(passerelle, data, auth=("pc_nobody", "x"))
    assert (status, body["error"]) == (401, "invalid_client")
    assert body["error_description"] == "Client authentication failed."
    # Two methods at once (Basic and client_secret in the body): refused.
    status, body, _r = await token_request(passerelle, {
        **data, "client_id": passerelle.world.client_id,
        "client_secret": passerelle.world.client_secret})
    assert (status, body["error"]) == (400, "invalid_request")
    # client_secret_post alone works.
    async with aiohttp.ClientSession() as session, session.post(
            passerelle.url + "/oauth2/token",
            data={**data, "client_id": passerelle.world.client_id,
                  "client_secret": passerelle.world.client_secret}) as response:
        assert response.status == 200
        assert (await response.json())["scope"] == "consumption_load_curve contract " \
                                                   "daily_consumption"


async def test_client_credentials_scope_within_registration(passerelle: Running) -> None:
    status, body, _r = await token_request(passerelle, {"grant_type": "client_credentials",
                                                        "scope": "identity"})
    assert (status, body["error"]) == (400, "invalid_scope")
    status, body, _r = await token_request(passerelle, {"grant_type": "client_credentials",
                                                        "scope": "bogus"})
    assert (status, body["error"]) == (400, "invalid_scope")


async def test_revocation_and_introspection_are_per_client(passerelle: Running,
                                                          browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    _status, tokens = await exchange_code(passerelle, code, verifier)
    other = aiohttp.encode_basic_auth(passerelle.world.other_client_id,
                                      passerelle.world.other_client_secret)
    async with aiohttp.ClientSession() as session:
        async with session.post(passerelle.url + "/oauth2/introspect",
                                data={"token": tokens["access_token"]},
                                headers={"Authorization": other}) as r:
            assert await r.json() == {"active": False}
        async with session.post(passerelle.url + "/oauth2/revoke",
                                data={"token": tokens["access_token"]},
                                headers={"Authorization": other}) as r:
            assert r.status == 200
        async with session.post(passerelle.url + "/oauth2/introspect",
                                data={"token": tokens["access_token"]}) as r:
            assert r.status == 401  # unauthenticated callers learn nothing
    from tests.oauth.helpers import introspect

    assert (await introspect(passerelle, tokens["access_token"]))["active"] is True


@given(scope=st.one_of(st.none(), st.text(max_size=80)),
       details=st.one_of(st.none(), st.text(max_size=200),
                         st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                                      lambda c: st.lists(c) | st.dictionaries(st.text(), c),
                                      max_leaves=12).map(json.dumps)))
def test_parse_request_only_raises_domain_errors(scope: str | None,
                                                 details: str | None) -> None:
    with contextlib.suppress(DomainError):  # anything else fails the test
        parse_request(scope, details, today=date(2026, 11, 24))


@pytest.mark.parametrize(("duration", "days"), [
    ("P3Y", 1096), ("P36M", 1096), ("P12M", 365), ("P1Y", 365), ("P1M", 30), ("P2W", 14),
])
def test_durations_count_calendar_months_and_years(duration: str, days: int) -> None:
    """A month counted 31 days and a year 366: P3Y and P36M (1,098 days) were refused as
    longer than three years, and P12M gave 372 days."""
    details = json.dumps([{"type": "meter_data", "datasets": ["daily_consumption"],
                           "duration": duration}])
    access = parse_request(None, details, today=date(2026, 11, 24))
    assert access.duration.days == days


def test_a_duration_beyond_three_calendar_years_is_refused() -> None:
    details = json.dumps([{"type": "meter_data", "datasets": ["daily_consumption"],
                           "duration": "P37M"}])
    with pytest.raises(DomainError, match="duration may not exceed"):
        parse_request(None, details, today=date(2026, 11, 24))


async def test_an_http_issuer_on_a_public_name_is_never_a_500(tmp_path: Path) -> None:
    """Review 15d: with such an issuer (``passerelle serve`` now refuses it; an application
    can still be built on one) every token request was an unhandled authlib
    InsecureTransportError, a 500. It is now an OAuth error, temporarily_unavailable."""
    app = create_app(Settings(data_dir=tmp_path, public_url="http://passerelle.lan:8080"))
    async with running(app) as client:
        response = await client.post("/oauth2/token", data={"grant_type": "client_credentials"})
        assert response.status == 503, await response.text()
        assert (await response.json())["error"] == "temporarily_unavailable"


@pytest.mark.parametrize(("today", "history", "reaches"), [
    (date(2028, 3, 1), "P1Y", date(2027, 3, 1)),
    (date(2028, 3, 1), "P3Y", date(2025, 3, 1)),
    (date(2027, 3, 1), "P1Y", date(2026, 3, 1)),
])
def test_a_history_counts_its_years_backwards(today: date, history: str, reaches: date) -> None:
    """A history reaches into the past: counted forwards, its leap day was the wrong one and
    P1Y reached a day short or a day too far."""
    details = json.dumps([{"type": "meter_data", "datasets": ["daily_consumption"],
                           "history": history}])
    assert today - parse_request(None, details, today=today).history == reaches

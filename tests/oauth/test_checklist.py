"""One negative test per applicable item of the RFC 9700 / FAPI 2.0 checklist
(shared/reference/oauth-and-evidence.md §3); the item number is in each test's name.
docs/oauth.md holds the status table."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from consent.clock import FrozenClock
from tests.oauth.conftest import REDIRECT_URI, Browser, Running, query_of, start
from tests.oauth.helpers import (
    authorize_url,
    exchange_code,
    get_code,
    introspect,
    pkce,
    token_request,
)
from tests.support.databases import SqliteFactory


async def no_redirect_page(browser: Browser, url: str) -> str:
    response, html = await browser.get(url)
    assert response.status == 400
    assert "Location" not in response.headers
    assert response.content_type == "text/html"
    return html


async def test_01_redirect_uri_is_matched_exactly(passerelle: Running, browser: Browser) -> None:
    for almost in (REDIRECT_URI + "/", REDIRECT_URI + "?x=1", REDIRECT_URI.upper(),
                   "https://app.example/callback#frag", "https://app.example.evil/callback"):
        html = await no_redirect_page(browser, authorize_url(passerelle, redirect_uri=almost))
        assert "invalid_request" in html


async def test_02_no_redirect_on_unknown_client_or_missing_redirect(
        passerelle: Running, browser: Browser) -> None:
    await no_redirect_page(browser, authorize_url(passerelle, client_id="pc_nobody"))
    await no_redirect_page(browser, authorize_url(passerelle, redirect_uri=None))
    # A client's registered URI is never used for another client's request.
    await no_redirect_page(browser, authorize_url(passerelle,
                                                  client_id=passerelle.world.other_client_id))


async def test_03_code_verifier_is_required_and_checked(passerelle: Running,
                                                       browser: Browser) -> None:
    code, _verifier = await get_code(passerelle, browser)
    status, body = await exchange_code(passerelle, code, None)
    assert (status, body["error"]) == (400, "invalid_request")
    other_verifier, _ = pkce()
    status, body = await exchange_code(passerelle, code, other_verifier)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_04_06_pkce_is_mandatory_and_s256_only(passerelle: Running,
                                                    browser: Browser) -> None:
    verifier, _challenge = pkce()
    cases = [
        {"code_challenge": None, "code_challenge_method": None},        # no PKCE at all
        {"code_challenge_method": None},                                # method defaults plain
        {"code_challenge": verifier, "code_challenge_method": "plain"},  # plain
    ]
    for overrides in cases:
        response, _ = await browser.get(authorize_url(passerelle, **overrides))
        assert response.status == 303
        params = query_of(response.headers["Location"])
        assert params["error"] == "invalid_request", overrides
        assert params["iss"] == passerelle.url


async def test_05_24_metadata_advertises_s256_only(passerelle: Running,
                                                   browser: Browser) -> None:
    response, text = await browser.get("/.well-known/oauth-authorization-server")
    assert response.status == 200
    meta = json.loads(text)
    assert meta["issuer"] == passerelle.url
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert "password" not in meta["grant_types_supported"]
    assert "implicit" not in meta["grant_types_supported"]
    assert meta["authorization_response_iss_parameter_supported"] is True


async def test_07_no_implicit_grant(passerelle: Running, browser: Browser) -> None:
    for response_type in ("token", "code token", "id_token"):
        response, _ = await browser.get(authorize_url(passerelle, response_type=response_type))
        assert response.status == 303
        params = query_of(response.headers["Location"])
        assert params["error"] == "unsupported_response_type"
        assert "access_token" not in response.headers["Location"]


async def test_08_no_password_grant(passerelle: Running) -> None:
    status, body, _r = await token_request(passerelle, {
        "grant_type": "password", "username": "alice", "password": "whatever"})
    assert (status, body["error"]) == (400, "unsupported_grant_type")


async def test_09_code_is_single_use_and_replay_revokes(passerelle: Running,
                                                       browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    status, first = await exchange_code(passerelle, code, verifier)
    assert status == 200
    status, again = await exchange_code(passerelle, code, verifier)
    assert (status, again["error"]) == (400, "invalid_grant")
    assert await introspect(passerelle, first["access_token"]) == {"active": False}
    status, body, _r = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_10_code_lives_60_seconds(passerelle: Running, browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    passerelle.clock.advance(timedelta(seconds=61))
    status, body = await exchange_code(passerelle, code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_10b_code_is_bound_to_client_and_redirect_uri(passerelle: Running,
                                                           browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    status, body = await exchange_code(passerelle, code, verifier,
                                       redirect_uri="http://127.0.0.1:8765/cb")
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body, _r = await token_request(passerelle, {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier},
        auth=(passerelle.world.other_client_id, passerelle.world.other_client_secret))
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_11_refresh_token_is_bound_to_its_client(passerelle: Running,
                                                      browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    _status, tokens = await exchange_code(passerelle, code, verifier)
    status, body, _r = await token_request(
        passerelle, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(passerelle.world.other_client_id, passerelle.world.other_client_secret))
    assert (status, body["error"]) == (400, "invalid_grant")
    # ...and can never widen the consented scope.
    status, body, _r = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "scope": "daily_consumption contract"})
    assert (status, body["error"]) == (400, "invalid_scope")


async def test_12_refresh_rotation_reuse_revokes_the_family(passerelle: Running,
                                                           browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    _status, first = await exchange_code(passerelle, code, verifier)
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    status, second, _r = await token_request(passerelle, refresh)
    assert status == 200
    assert second["refresh_token"] != first["refresh_token"]
    status, body, _r = await token_request(passerelle, refresh)  # the stolen copy
    assert (status, body["error"]) == (400, "invalid_grant")
    assert await introspect(passerelle, second["access_token"]) == {"active": False}
    status, body, _r = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_18_iss_on_success_and_error_responses(passerelle: Running,
                                                    browser: Browser) -> None:
    response, _ = await browser.get(authorize_url(passerelle, scope="no_such_dataset"))
    params = query_of(response.headers["Location"])
    assert params["error"] == "invalid_scope"
    assert params["iss"] == passerelle.url
    assert params["state"] == "st4te"
    _verifier, challenge = pkce()
    response = await browser.decide(authorize_url(passerelle, code_challenge=challenge))
    assert query_of(response.headers["Location"])["iss"] == passerelle.url


async def test_19_registration_refuses_plain_http_redirect_uris(passerelle: Running) -> None:
    from consent.errors import DomainError
    from consent.services.registry import register_recipient
    from proxy.oauth.registry import draft_from_json

    draft = draft_from_json({"name": "X", "website": "https://x.example",
                             "contact_email": "a@x.example", "purposes": ["energy_advice"],
                             "legal_basis": "consent", "data_role": "controller",
                             "allowed_datasets": ["daily_consumption"],
                             "redirect_uris": ["http://x.example/cb"]})
    async with passerelle.db.session() as session:
        with pytest.raises(DomainError, match="redirect URI"):
            await register_recipient(session, draft, tenant_id="default",
                                     now=passerelle.clock.now())


async def test_20_redirects_are_303(passerelle: Running, browser: Browser) -> None:
    for decision in ("approve", "refuse"):
        _verifier, challenge = pkce()  # a new request each time (one answer per request)
        response = await browser.decide(authorize_url(passerelle, code_challenge=challenge),
                                        decision=decision)
        assert response.status == 303


async def test_21_clickjacking_headers_on_interactive_pages(passerelle: Running,
                                                           browser: Browser) -> None:
    _verifier, challenge = pkce()
    pages = ["/login", authorize_url(passerelle, client_id="pc_nobody"), "/register"]
    await browser.login()
    pages.append(authorize_url(passerelle, code_challenge=challenge))
    for page in pages:
        response, _ = await browser.get(page)
        assert response.headers["X-Frame-Options"] == "DENY", page
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        if page.startswith("/oauth2/") or page == "/login":
            assert response.headers["Cache-Control"] == "no-store"


async def test_22_no_cors_on_the_authorization_endpoint(passerelle: Running,
                                                       browser: Browser) -> None:
    response, _ = await browser.get(authorize_url(passerelle),
                                    headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_23_forwarded_headers_do_not_change_the_issuer(passerelle: Running,
                                                            browser: Browser) -> None:
    response, _ = await browser.get(authorize_url(passerelle, scope="nope"), headers={
        "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
        "Host": "evil.example"})
    assert query_of(response.headers["Location"])["iss"] == passerelle.url


async def test_29_resource_server_takes_the_token_from_the_header_only(
        passerelle: Running, browser: Browser) -> None:
    from tests.oauth.test_full_flow import verify_with_bearer

    code, verifier = await get_code(passerelle, browser)
    _status, tokens = await exchange_code(passerelle, code, verifier)
    assert (await verify_with_bearer(passerelle, tokens["access_token"]))["consent_id"]
    async with aiohttp.ClientSession() as session:
        # a query-string token is refused even when valid (checked by the probe's handler)
        from aiohttp import web

        from proxy.auth import authenticate_bearer

        async def handler(request: web.Request) -> web.Response:
            await authenticate_bearer(request)
            return web.Response(text="ok")

        app = web.Application()
        for key in passerelle.app:
            app[key] = passerelle.app[key]
        from proxy.middlewares import error_middleware

        app.middlewares.append(error_middleware)
        app.router.add_get("/p", handler)
        from aiohttp.test_utils import TestServer

        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            url = server.make_url("/p")
            async with session.get(url, params={"access_token": tokens["access_token"]}) as r:
                assert r.status == 400
                assert r.headers["WWW-Authenticate"].startswith("Bearer ")
            async with session.get(url) as r:
                assert r.status == 401
                assert r.headers["WWW-Authenticate"] == 'Bearer realm="passerelle"'
            passerelle.clock.advance(timedelta(hours=1, seconds=1))
            async with session.get(url, headers={
                    "Authorization": "Bearer " + tokens["access_token"]}) as r:
                assert r.status == 401
                assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
        finally:
            await server.close()


async def test_30_consent_page_tells_who_why_what(passerelle: Running, browser: Browser) -> None:
    _action, fields = await browser.consent_form(authorize_url(passerelle))
    _r, html = await browser.get(authorize_url(passerelle) + "&lang=en")
    assert "Watt Coach" in html
    assert "Show the household its own consumption and production." in html
    assert "Daily consumption" in html
    assert "controller" in html
    assert ("point", "enedis:22516914714270") in fields
    assert ("point", "enedis:30001234567890") not in fields  # not hers


async def test_access_tokens_live_one_hour_at_most(sqlite_factory: SqliteFactory,
                                                  clock: FrozenClock, data_dir: Path) -> None:
    url = sqlite_factory.create()
    async for p in start(url, clock, data_dir, access_token_ttl=7200):
        status, body, _r = await token_request(p, {"grant_type": "client_credentials"})
        assert status == 200
        assert body["expires_in"] == 3600
        clock.advance(timedelta(seconds=3601))
        assert await introspect(p, body["access_token"]) == {"active": False}

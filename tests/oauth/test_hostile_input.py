"""Input no honest client sends: a clear 4xx in the endpoint's own error format, never a 500.

Found by an adversarial review: credentials whose base64 holds bytes that are not UTF-8, and a
NUL character wherever one can be smuggled (percent-encoded in a path or a query, in a form, in
an HTTP Basic user name). SQLite stores a NUL; PostgreSQL text cannot hold one and its driver
raises, so the NUL cases run on both databases.
"""

from __future__ import annotations

import base64

import aiohttp
import pytest

from consent.errors import PROBLEM_BASE_URI
from tests.oauth.conftest import Browser, Running
from tests.oauth.test_registry import mint_admin_token

BACK_CHANNEL = ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect",
                "/compat/enedis/oauth2/v3/token", "/compat/enedis/oauth2/v3/revoke"]


async def post(p: Running, path: str, data: dict[str, str],
               headers: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.post(
            p.url + path, data=data, headers=headers) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.json(content_type=None)


@pytest.mark.parametrize("path", BACK_CHANNEL)
async def test_basic_credentials_that_are_not_utf8_are_invalid_client(
        passerelle: Running, path: str) -> None:
    raw = base64.b64encode(b"\xff\xfe:secret").decode()
    status, content_type, body = await post(
        passerelle, path, {"grant_type": "client_credentials", "token": "x"},
        {"Authorization": "Basic " + raw})
    assert (status, body["error"]) == (401, "invalid_client")
    assert content_type.startswith("application/json")


async def test_a_nul_in_the_basic_user_name_is_an_unknown_client(
        passerelle_any: Running) -> None:
    raw = base64.b64encode(b"%00abc:secret").decode()  # authlib URL-decodes the user name
    status, _type, body = await post(passerelle_any, "/oauth2/token",
                                     {"grant_type": "client_credentials"},
                                     {"Authorization": "Basic " + raw})
    assert (status, body["error"]) == (401, "invalid_client")


INVALID_INPUT = PROBLEM_BASE_URI + "invalid-input"


@pytest.mark.parametrize(("path", "error_field", "expected"), [
    ("/register.json?tenant=a%00b", "type", INVALID_INPUT),
    ("/compat/enedis/dataconnect/v1/oauth2/authorize?client_id=a%00b&response_type=code"
     "&duration=P1D", "type", INVALID_INPUT),
    ("/oauth2/authorize?client_id=a%00b&response_type=code", "error", "invalid_request"),
    ("/api/v1/points/a%00b/datasets/daily_consumption?start=2026-01-01&end=2026-01-02",
     "type", INVALID_INPUT),
])
async def test_a_nul_in_the_url_is_refused_before_any_handler(
        passerelle_any: Running, path: str, error_field: str, expected: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(
            passerelle_any.url + path, allow_redirects=False) as r:
        body = await r.json(content_type=None)
        assert (r.status, body[error_field]) == (400, expected)


async def test_a_nul_in_an_admin_path_is_refused(passerelle_any: Running,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    token = await mint_admin_token(passerelle_any, capsys)
    async with aiohttp.ClientSession() as session, session.get(
            passerelle_any.url + "/admin/recipients/a%00b",
            headers={"Authorization": "Bearer " + token}) as r:
        assert r.status == 400
        assert (await r.json(content_type=None))["type"] == INVALID_INPUT


async def test_a_nul_in_the_sign_in_form_is_refused(passerelle_any: Running) -> None:
    browser = Browser(passerelle_any.url)
    try:
        response = await browser.login(username="ali\x00ce", password="x")
        # The page's form reader refuses it as malformed: the CSRF check cannot read its
        # token, so it answers the page's 403 (HTML), before anything reaches the database.
        assert response.status == 403
        assert response.headers["Content-Type"].startswith("text/html")
    finally:
        await browser.session.close()


@pytest.mark.parametrize("path", ["/oauth2/revoke", "/compat/enedis/oauth2/v3/revoke",
                                  "/compat/enedis/oauth2/v3/token"])
@pytest.mark.parametrize("data", [
    {"token": "x", "token_type_hint": 'a"\u00e9'},
    {"grant_type": "client_credentials", "scope": 'a"\u00e9'},
])
async def test_characters_authlib_will_not_echo_are_invalid_request(
        passerelle: Running, path: str, data: dict[str, str]) -> None:
    status, _type, body = await post(passerelle, path, data, {
        "Authorization": aiohttp.encode_basic_auth(passerelle.world.client_id,
                                                   passerelle.world.client_secret)})
    if "token_type_hint" in data and path.endswith("/revoke"):
        # A hint is only a hint (RFC 7009 §2.1): ignored, never echoed; "x" is no token.
        assert (status, body) == (200, {})
        return
    assert status == 400
    assert body["error"] in ("invalid_request", "invalid_scope", "unsupported_grant_type")


async def test_a_nul_in_a_json_body_is_refused(passerelle_any: Running,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    token = await mint_admin_token(passerelle_any, capsys)
    async with aiohttp.ClientSession() as session, session.post(
            passerelle_any.url + "/admin/recipients",
            data=b'{"name": "Solar\\u0000Check"}',
            headers={"Authorization": "Bearer " + token,
                     "Content-Type": "application/json"}) as r:
        assert r.status == 400
        body = await r.json(content_type=None)
        assert (body["type"], body["field"]) == (INVALID_INPUT, "body")

"""Edges of the token, revocation and introspection endpoints found by review: a parameter
sent along that is not the endpoint's own, a refresh that narrows its access token, a refresh
of a suspended consent, two client authentication methods hidden in an empty Basic user, an
unknown token type hint, an empty secret, scopes split by tabs, the purpose granted, tokens
in DEBUG logs."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from consent.services import Actor, ConsentService
from proxy.keys import consent_service_key
from tests.oauth.conftest import Browser, Running
from tests.oauth.helpers import exchange_code, get_code, introspect, token_request


async def _post(p: Running, path: str, data: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(
            p.url + path, data=data, headers={"Authorization": aiohttp.encode_basic_auth(
                p.world.client_id, p.world.client_secret)}) as r:
        return r.status, await r.json()


async def test_revocation_and_introspection_act_on_token_whatever_else_is_sent(
        passerelle: Running, browser: Browser) -> None:
    """RFC 7009 and RFC 7662 read ``token``; a ``refresh_token`` sent along is ignored
    (RFC 6749 §3.2), never looked up in its place."""
    code, verifier = await get_code(passerelle, browser)
    _status, tokens = await exchange_code(passerelle, code, verifier)
    status, body = await _post(passerelle, "/oauth2/introspect", {
        "token": tokens["access_token"], "refresh_token": tokens["refresh_token"]})
    assert (status, body["active"]) == (200, True)
    assert body["scope"] == tokens["scope"]
    status, _ = await _post(passerelle, "/oauth2/revoke", {
        "token": tokens["access_token"], "refresh_token": "unrelated"})
    assert status == 200
    assert await introspect(passerelle, tokens["access_token"]) == {"active": False}
    assert (await introspect(passerelle, tokens["refresh_token"]))["active"] is True


async def test_a_narrowed_refresh_keeps_the_refresh_tokens_scope(passerelle: Running,
                                                                  browser: Browser) -> None:
    """RFC 6749 §6: the new refresh token's scope is the presented one's; only the access
    token of that refresh is narrowed."""
    code, verifier = await get_code(passerelle, browser, scope="daily_consumption contract")
    _status, first = await exchange_code(passerelle, code, verifier)
    status, narrowed, _ = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "scope": "contract"})
    assert (status, narrowed["scope"]) == (200, "contract")
    status, again, _ = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": narrowed["refresh_token"]})
    assert status == 200
    assert set(again["scope"].split()) == {"daily_consumption", "contract"}
    status, wide, _ = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": again["refresh_token"],
        "scope": "daily_consumption contract"})
    assert status == 200, wide
    status, more, _ = await token_request(passerelle, {  # still never wider than granted
        "grant_type": "refresh_token", "refresh_token": wide["refresh_token"],
        "scope": "daily_consumption contract identity"})
    assert (status, more["error"]) == (400, "invalid_scope")
    status, blank, _ = await token_request(passerelle, {  # a token for nothing: refused
        "grant_type": "refresh_token", "refresh_token": wide["refresh_token"], "scope": " "})
    assert (status, blank["error"]) == (400, "invalid_scope")


async def test_refreshing_a_suspended_consent_is_invalid_grant(passerelle: Running,
                                                              browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    _status, tokens = await exchange_code(passerelle, code, verifier)
    await passerelle.app[consent_service_key].suspend(Actor.system(), tokens["consent_id"],
                                                      reason="a dispute")
    status, body, _ = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_grant")
    assert "not active" in body["error_description"]


async def test_an_empty_basic_user_with_a_form_secret_is_two_methods(
        passerelle: Running) -> None:
    """RFC 6749 §2.3: one client authentication method per request, even when the Basic
    header's user name is empty."""
    world = passerelle.world
    status, body, _ = await token_request(
        passerelle, {"grant_type": "client_credentials", "client_id": world.client_id,
                     "client_secret": world.client_secret}, auth=("", "anything"))
    assert (status, body["error"]) == (400, "invalid_request")


async def test_the_duration_granted_is_the_one_asked_for_however_long_the_approval_takes(
        passerelle: Running, browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    """The consent's two ends come from one instant: a consent service reading its clock a
    second after the approval began must not turn ``P30D`` into ``P29D`` (29 days, 23:59:59)
    in the token's ``authorization_details``."""
    answer = ConsentService.answer_in

    async def later(self: ConsentService, *args: Any, **kwargs: Any) -> Any:
        passerelle.clock.advance(timedelta(seconds=1))
        return await answer(self, *args, **kwargs)

    monkeypatch.setattr(ConsentService, "answer_in", later)
    details = json.dumps([{"type": "meter_data", "datasets": ["daily_consumption"],
                           "duration": "P30D"}])
    code, verifier = await get_code(passerelle, browser, authorization_details=details)
    status, tokens = await exchange_code(passerelle, code, verifier)
    assert status == 200, tokens
    assert [d["duration"] for d in tokens["authorization_details"]] == ["P30D"]


async def test_an_unknown_token_type_hint_is_only_a_hint(passerelle: Running,
                                                         browser: Browser) -> None:
    """RFC 7009 §2.1: the server looks the token up among every kind whatever the hint; an
    unknown hint made revocation answer ``unsupported_token_type`` and the token lived on."""
    code, verifier = await get_code(passerelle, browser)
    _status, tokens = await exchange_code(passerelle, code, verifier)
    status, body = await _post(passerelle, "/oauth2/introspect", {
        "token": tokens["access_token"], "token_type_hint": "pas_token"})
    assert (status, body["active"]) == (200, True)
    status, _ = await _post(passerelle, "/oauth2/revoke", {
        "token": tokens["access_token"], "token_type_hint": "pas_token"})
    assert status == 200
    assert await introspect(passerelle, tokens["access_token"]) == {"active": False}
    status, body = await _post(passerelle, "/oauth2/revoke", {"token": ""})
    assert (status, body["error"]) == (400, "invalid_request")


async def test_an_empty_client_secret_beside_basic_is_as_if_omitted(
        passerelle: Running, browser: Browser) -> None:
    """RFC 6749 §3.1: a parameter sent without a value is treated as omitted; it was taken
    for a second authentication method."""
    code, verifier = await get_code(passerelle, browser)
    status, body = await exchange_code(passerelle, code, verifier, client_secret="")
    assert status == 200, body


@pytest.mark.parametrize("scope", ["daily_consumption\tcontract",
                                   "contract\u00a0daily_consumption"])
async def test_a_refresh_scope_split_by_other_whitespace_is_invalid_scope(
        passerelle: Running, browser: Browser, scope: str) -> None:
    """Scopes are separated by spaces (RFC 6749 §3.3). authlib's subset check split on any
    whitespace and let a tab through, and the token's issuance then answered problem+json
    without an OAuth ``error``."""
    code, verifier = await get_code(passerelle, browser, scope="daily_consumption contract")
    _status, tokens = await exchange_code(passerelle, code, verifier)
    async with aiohttp.ClientSession() as session, session.post(
            passerelle.url + "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                  "scope": scope},
            headers={"Authorization": aiohttp.encode_basic_auth(
                passerelle.world.client_id, passerelle.world.client_secret)}) as r:
        assert r.status == 400
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.headers["Cache-Control"] == "no-store"
        assert (await r.json())["error"] == "invalid_scope"


async def test_the_token_answer_reflects_the_granted_purpose(passerelle: Running,
                                                             browser: Browser) -> None:
    """docs/oauth.md: ``authorization_details`` says what was granted, its purpose included
    (it was left out when the grant was read back from the consent)."""
    code, verifier = await get_code(passerelle, browser)
    _status, tokens = await exchange_code(passerelle, code, verifier)
    assert tokens["authorization_details"][0]["purpose"] == "energy_monitoring"
    status, refreshed, _ = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert status == 200
    assert refreshed["authorization_details"][0]["purpose"] == "energy_monitoring"


async def test_no_token_reaches_the_log_even_at_debug(passerelle: Running,
                                                       browser: Browser) -> None:
    """authlib logs each token it issues, whole, at DEBUG ("Issue token {...}"), a shape the
    redaction did not know."""
    from proxy.logging_setup import configure_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("authlib").level)
    out = io.StringIO()
    configure_logging("text", "DEBUG", stream=out)
    try:
        code, verifier = await get_code(passerelle, browser)
        _status, tokens = await exchange_code(passerelle, code, verifier)
        status, refreshed, _ = await token_request(passerelle, {
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert status == 200
        # authlib's own line, even if it reached a handler: redacted there
        logging.getLogger("authlib.test").warning("Issue token %r", tokens)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.getLogger("authlib").setLevel(saved[2])
    logged = out.getvalue()
    assert "Issue token" in logged
    for secret in (tokens["access_token"], tokens["refresh_token"],
                   refreshed["access_token"], refreshed["refresh_token"]):
        assert secret not in logged


async def test_an_authorization_code_carries_its_prefix(passerelle: Running,
                                                        browser: Browser) -> None:
    """docs/oauth.md: every secret of ours has a ``pas_`` prefix (redaction, secret scanners);
    codes came from authlib's own generator without one."""
    code, _verifier = await get_code(passerelle, browser)
    assert code.startswith("pas_ac_")
    assert len(code) == len("pas_ac_") + 43

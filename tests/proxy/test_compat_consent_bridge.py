"""The Data Connect consent page across replicas: the request in flight is an authenticated
``state`` (proxy/compat/enedis/bridge.py), so any replica sharing the database and the server
key finishes it; anything altered, expired or replayed is ``unknown_or_expired_request``."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from consent.models import Consent, Recipient
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import registry
from consent.vocabulary import Dataset
from proxy.app import create_app
from proxy.compat.enedis.bridge import (
    BRIDGE_TTL,
    CLOCK_SKEW,
    Bridge,
    bridge_key,
    open_bridge,
    seal_bridge,
)
from proxy.compat.enedis.oauth import CALLBACK_PATH
from proxy.keys import adapters_key, web_secret_key
from proxy.oauth.answer_once import ANSWERED
from proxy.oauth.glue import MAX_VALUE_LENGTH
from proxy.settings import Settings
from tests.oauth.conftest import Browser, query_of
from tests.proxy.test_compat_enedis import AUTHORIZE, decide
from tests.proxy.world import PRM, World, build_world
from tests.support.replicas import share_evidence_keys

KEY = bridge_key(b"k" * 32)
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ISSUED = int(NOW.timestamp())
UNKNOWN = (400, "unknown_or_expired_request")


# ---- the token itself -----------------------------------------------------------------------

def _fields(token: str) -> tuple[str, list[Any], str]:
    version, payload, mac = token.split(".")
    return version, json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))), mac


def _with_fields(token: str, fields: list[Any]) -> str:
    """``token`` with its payload replaced and its MAC kept."""
    version, _, mac = _fields(token)
    payload = base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")
    return f"{version}.{payload}.{mac}"


@pytest.mark.parametrize("state", ["abcd123", None, "é 😀 &=?#"])
def test_a_bridge_opens_as_sealed_until_its_ttl(state: str | None) -> None:
    bridge = Bridge("client-1", state, ISSUED)
    token = seal_bridge(KEY, bridge)
    assert open_bridge(KEY, token, NOW) == bridge
    assert open_bridge(KEY, token, NOW + timedelta(seconds=BRIDGE_TTL)) == bridge
    assert open_bridge(KEY, token, NOW + timedelta(seconds=BRIDGE_TTL + 1)) is None
    assert open_bridge(KEY, token, NOW - timedelta(seconds=CLOCK_SKEW)) == bridge
    assert open_bridge(KEY, token, NOW - timedelta(seconds=CLOCK_SKEW + 1)) is None


@pytest.mark.parametrize("fields", [
    ["client-2", "abcd123", ISSUED], ["client-1", "evil", ISSUED],
    ["client-1", None, ISSUED], ["client-1", "abcd123", ISSUED + 1],
])
def test_a_changed_field_voids_the_bridge(fields: list[Any]) -> None:
    token = seal_bridge(KEY, Bridge("client-1", "abcd123", ISSUED))
    assert open_bridge(KEY, _with_fields(token, fields), NOW) is None


def test_only_the_purpose_subkey_opens_a_bridge() -> None:
    secret = b"k" * 32
    token = seal_bridge(KEY, Bridge("client-1", "s", ISSUED))
    assert open_bridge(bridge_key(b"j" * 32), token, NOW) is None
    assert open_bridge(secret, token, NOW) is None  # the raw server key is not the MAC key
    raw = seal_bridge(secret, Bridge("client-1", "s", ISSUED))  # MAC under the raw key
    assert open_bridge(KEY, raw, NOW) is None


@given(st.text(max_size=300))
def test_any_text_is_refused_without_error(text: str) -> None:
    assert open_bridge(KEY, text, NOW) is None


def test_the_largest_bridge_stays_well_under_the_parameter_limit() -> None:
    longest = max(len(seal_bridge(KEY, Bridge("c" * 64, ch * 100, ISSUED)))
                  for ch in ("\x00", "😀", "é", '"'))
    assert longest < MAX_VALUE_LENGTH // 2


# ---- the consent page over HTTP -------------------------------------------------------------

@pytest.fixture
async def browser(world: World) -> AsyncIterator[Browser]:
    b = Browser(str(world.client.make_url("")).rstrip("/"))
    yield b
    await b.close()


async def start(world: World, browser: Browser, app: str = "coach",
                state: str = "abcd123") -> str:
    """The Data Connect consent page: Passerelle's own authorization URL it redirects to."""
    client_id, _ = world.credentials[app]
    response, _ = await browser.get(AUTHORIZE + "?" + urlencode({
        "client_id": client_id, "response_type": "code", "state": state, "duration": "P30D"}))
    assert response.status == 303
    return response.headers["Location"]


async def approved(world: World, browser: Browser, **kwargs: str) -> str:
    """The household approves: the callback's path and query Passerelle redirects to."""
    decided = await decide(browser, await start(world, browser, **kwargs), "approve")
    location = urlsplit(decided.headers["Location"])
    assert location.path == CALLBACK_PATH
    return f"{location.path}?{location.query}"


async def call_back(client: TestClient[Any, Any], path_qs: str) -> tuple[int, Any]:
    async with client.get(path_qs, allow_redirects=False) as response:
        if response.status == 303:
            return 303, response.headers["Location"]
        return response.status, (await response.json())["error_description"]


def with_state(path_qs: str, state: str) -> str:
    params = query_of(path_qs) | {"state": state}
    return CALLBACK_PATH + "?" + urlencode(params)


def _replica(world: World, data_dir: Path) -> TestClient[Any, Any]:
    """A second application on the same database and issuer (nginx: one public URL)."""
    settings = Settings(data_dir=data_dir, public_url=world.issuer, migrate_on_start=False,
                        database_url=world.db.engine.url.render_as_string(hide_password=False))
    app = create_app(settings, clock=world.clock, adapters=world.client.app[adapters_key])
    return TestClient(TestServer(app, host="127.0.0.1"))


@pytest.fixture
async def world_on_any(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """The world on each backend (production: PostgreSQL)."""
    w = await build_world(database_url, tmp_path / "a")
    yield w
    await w.client.close()


async def test_another_replica_with_the_shared_key_completes_the_callback(
        world_on_any: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = world_on_any
    browser = Browser(str(world.client.make_url("")).rstrip("/"))
    try:
        await _across_replicas(world, browser, tmp_path, monkeypatch)
    finally:
        await browser.close()


async def _across_replicas(world: World, browser: Browser, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    # As deployed: every replica reads the same PASSERELLE_SECRET_KEY(_FILE) and evidence
    # keys, own data dirs.
    monkeypatch.setenv("PASSERELLE_SECRET_KEY", world.client.app[web_secret_key].hex())
    share_evidence_keys(monkeypatch, world.client.app)
    stranger_key = bytes(32).hex()
    path_qs = await approved(world, browser)
    replica_b = _replica(world, tmp_path / "b")
    await replica_b.start_server()
    try:
        status, target = await call_back(replica_b, path_qs)
    finally:
        await replica_b.close()
    assert status == 303
    assert target.startswith("https://coach.example/cb?")
    params = query_of(target)
    assert (params["state"], params["usage_point_id"]) == ("abcd123", PRM.identifier)
    assert params["code"] == query_of(path_qs)["code"]
    # a replica under another key (misconfigured) cannot be fooled into finishing it
    monkeypatch.setenv("PASSERELLE_SECRET_KEY", stranger_key)
    other = await approved(world, browser, state="second")
    replica_c = _replica(world, tmp_path / "c")
    await replica_c.start_server()
    try:
        assert await call_back(replica_c, other) == UNKNOWN
    finally:
        await replica_c.close()
    assert (await call_back(world.client, other))[0] == 303


async def test_a_bridge_past_its_ttl_is_unknown_or_expired(world: World,
                                                          browser: Browser) -> None:
    path_qs = await approved(world, browser)
    world.clock.advance(timedelta(seconds=BRIDGE_TTL + 1))
    assert await call_back(world.client, path_qs) == UNKNOWN


@pytest.mark.parametrize("field", ["client_id", "state", "issued", "mac", "raw-key mac"])
async def test_a_tampered_state_is_unknown_or_expired(world: World, browser: Browser,
                                                      field: str) -> None:
    path_qs = await approved(world, browser)
    token = query_of(path_qs)["state"]
    _version, (client_id, state, issued), mac = _fields(token)
    dash_id, _ = world.credentials["dash"]
    forged = {
        "client_id": lambda: _with_fields(token, [dash_id, state, issued]),
        "state": lambda: _with_fields(token, [client_id, "evil", issued]),
        "issued": lambda: _with_fields(token, [client_id, state, issued + 3600]),
        "mac": lambda: f"{token.rpartition('.')[0]}.{'A' * len(mac)}",
        "raw-key mac": lambda: seal_bridge(world.client.app[web_secret_key],
                                           Bridge(client_id, "evil", issued)),
    }[field]()
    assert await call_back(world.client, with_state(path_qs, forged)) == UNKNOWN
    assert (await call_back(world.client, path_qs))[0] == 303  # the genuine one still works


async def test_a_callback_opened_again_is_unknown_or_expired(world: World,
                                                            browser: Browser) -> None:
    path_qs = await approved(world, browser)
    assert (await call_back(world.client, path_qs))[0] == 303
    assert await call_back(world.client, path_qs) == UNKNOWN


async def test_another_apps_bridge_cannot_carry_the_code(world: World,
                                                         browser: Browser) -> None:
    path_qs = await approved(world, browser)  # coach's code
    dash_bridge = query_of(await start(world, browser, app="dash"))["state"]
    assert await call_back(world.client, with_state(path_qs, dash_bridge)) == UNKNOWN
    assert (await call_back(world.client, path_qs))[0] == 303


async def test_the_target_is_the_registered_one_at_callback_time(world: World,
                                                                browser: Browser) -> None:
    path_qs = await approved(world, browser)
    refusal = with_state(CALLBACK_PATH + "?error=access_denied", query_of(path_qs)["state"])
    async with world.db.session() as session:
        await session.exec(sa.update(Recipient)  # type: ignore[call-overload]
                           .where(Recipient.id == world.apps["coach"])
                           .values(redirect_uris=["https://coach.example/moved",
                                                  world.issuer + CALLBACK_PATH]))
    status, target = await call_back(world.client, path_qs)
    assert status == 303
    assert target.startswith("https://coach.example/moved?")
    status, target = await call_back(world.client, refusal)
    assert status == 303
    assert target.startswith("https://coach.example/moved?code=403&")
    async with world.db.session() as session:  # no longer configured: nowhere to go
        await session.exec(sa.update(Recipient)  # type: ignore[call-overload]
                           .where(Recipient.id == world.apps["coach"])
                           .values(redirect_uris=["https://coach.example/moved"]))
    assert await call_back(world.client, refusal) == UNKNOWN


async def test_a_code_of_the_native_flow_is_neither_disclosed_nor_consumed(world: World) -> None:
    """A code the household gave the same app through the native flow (to its own redirect
    URI, with PKCE), seen by someone else (a log, a Referer), fed to the callback with a bridge
    minted anonymously: refused, no meter disclosed, and the app still redeems its code."""
    household = Browser(str(world.client.make_url("")).rstrip("/"))
    attacker = Browser(str(world.client.make_url("")).rstrip("/"))
    try:
        params = query_of(await start(world, household))
        verifier = "v" * 50
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        params |= {"redirect_uri": "https://coach.example/cb", "state": "native",
                   "code_challenge": challenge}
        decided = await decide(household, "/oauth2/authorize?" + urlencode(params), "approve")
        location = decided.headers["Location"]
        assert location.startswith("https://coach.example/cb?")
        code = query_of(location)["code"]
        bridge = query_of(await start(world, attacker, state="x"))["state"]
        async with world.client.get(CALLBACK_PATH + "?" + urlencode(
                {"code": code, "state": bridge}), allow_redirects=False) as r:
            assert r.status == 400
            assert "Location" not in r.headers
            assert (await r.json())["error_description"] == "unknown_or_expired_request"
        client_id, secret = world.credentials["coach"]
        async with world.client.post("/oauth2/token", data={
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": "https://coach.example/cb", "code_verifier": verifier,
                "client_id": client_id, "client_secret": secret}) as r:
            assert r.status == 200, await r.text()
    finally:
        await household.close()
        await attacker.close()


async def test_an_app_of_several_purposes_names_the_one_it_asks_for(
        world: World, browser: Browser) -> None:
    """Data Connect has no purpose; an app that declared several must say which one the
    household is asked for (``purpose``), else the page refuses up front, never reporting a
    refusal the household did not make."""
    async with world.db.session() as session:
        recipient, _ = await registry.register_recipient(session, registry.RecipientDraft(
            name="multi", website="https://multi.example", contact_email="dpo@multi.example",
            purposes=[Purpose.ENERGY_MONITORING, Purpose.ENERGY_ADVICE],
            legal_basis=LegalBasis.CONSENT, data_role=DataRole.CONTROLLER,
            allowed_datasets=list(Dataset),
            redirect_uris=["https://multi.example/cb", world.issuer + CALLBACK_PATH]),
            tenant_id="default", now=world.clock.now())
    asked = {"client_id": recipient.client_id, "response_type": "code", "state": "s1",
             "duration": "P1Y"}
    for extra, error in (({}, "purpose_required"), ({"purpose": "marketing"}, "invalid_purpose")):
        status, body, _ = await world.get(AUTHORIZE, None, **asked, **extra)
        assert (status, body["error_description"]) == (400, error)
    response, _ = await browser.get(AUTHORIZE + "?" + urlencode(
        {**asked, "purpose": "energy_advice"}))
    decided = await decide(browser, response.headers["Location"], "approve")
    location = urlsplit(decided.headers["Location"])
    status, target = await call_back(world.client, f"{location.path}?{location.query}")
    assert status == 303
    assert target.startswith("https://multi.example/cb?")
    assert query_of(target)["state"] == "s1"
    assert "code" in query_of(target)
    async with world.db.session() as session:
        purposes = (await session.exec(sa.select(Consent.purpose).where(  # type: ignore[call-overload]
            Consent.recipient_id == recipient.id))).all()
    assert [p for (p,) in purposes] == ["energy_advice"]


async def test_a_failed_authorization_is_not_reported_as_a_refusal(
        world: World, browser: Browser) -> None:
    """Data Connect's two answers (reference §1.2): the household refused (403), or the request
    failed (500 server_error)."""
    path_qs = await approved(world, browser)
    for error, answer in (("access_denied", ("403", "access_denied")),
                          ("server_error", ("500", "server_error")),
                          ("invalid_authorization_details", ("500", "server_error")),
                          (ANSWERED, ("500", "server_error"))):  # a form sent twice
        failed = query_of(path_qs) | ({"error": "access_denied", "error_description": error}
                                      if error == ANSWERED else {"error": error})
        failed.pop("code", None)
        status, target = await call_back(world.client, CALLBACK_PATH + "?" + urlencode(failed))
        assert status == 303
        assert (query_of(target)["code"], query_of(target)["error"]) == answer

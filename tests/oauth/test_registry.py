"""The recipient registry: CLI, admin API (bearer admin token), public register (R5, R21)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from consent.client_secrets import verify_client_secret
from consent.tokens import digest, find_token
from proxy.cli import main
from proxy.keys import oauth_server_key, token_store_key
from proxy.oauth.admin_tokens import ADMIN_TOKENS_VAR
from proxy.oauth.exchange import Exchange
from proxy.oauth.glue import Snapshot, bound
from proxy.oauth.grants import CODE_TTL
from tests.oauth.conftest import Browser, Running
from tests.oauth.helpers import (
    exchange_code,
    get_code,
    introspect,
    only_recipient,
    token_request,
)

NEW_RECIPIENT = {
    "name": "Solar Check", "website": "https://solar.example",
    "contact_email": "dpo@solar.example", "purposes": ["solar_assessment"],
    "legal_basis": "consent", "data_role": "processor",
    "allowed_datasets": ["daily_production", "production_load_curve"],
    "redirect_uris": ["https://solar.example/cb"],
}


async def mint_admin_token(p: Running, capsys: pytest.CaptureFixture[str]) -> str:
    """``passerelle admin-token create`` against the running instance's data and database (in a
    thread: the command runs its own event loop)."""
    url = p.db.engine.url.render_as_string(hide_password=False)
    assert await asyncio.to_thread(main, ["admin-token", "create", "--data-dir", str(p.data_dir),
                                          "--database-url", url, "--json"]) == 0
    token: str = json.loads(capsys.readouterr().out)["admin_token"]
    assert token.startswith("pas_adm_")
    return token


def test_clients_create_prints_credentials_once(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    args = ["clients", "create", "--data-dir", str(tmp_path), "--name", "CLI App",
            "--redirect-uri", "https://cli.example/cb", "--purpose", "energy_advice",
            "--dataset", "daily_consumption", "--dataset", "contract", "--json"]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["client_id"].startswith("pc_")
    assert len(printed["client_secret"]) >= 43
    assert main([*args[:-1], "--redirect-uri", "http://evil.example/cb"]) == 2
    assert "redirect URI" in capsys.readouterr().out




    recipient = only_recipient(tmp_path)
    assert recipient.allowed_datasets == ["daily_consumption", "contract"]
    assert recipient.client_secret_hash != printed["client_secret"]
    assert verify_client_secret(recipient.client_secret_hash or "", printed["client_secret"])


async def test_admin_api_needs_an_admin_token(passerelle: Running,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    async with aiohttp.ClientSession() as session:
        url = passerelle.url + "/admin/recipients"
        async with session.get(url) as r:
            assert r.status == 401
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
        await mint_admin_token(passerelle, capsys)
        async with session.get(url, headers={"Authorization": "Bearer pas_adm_guess"}) as r:
            assert r.status == 401
            # Review 15d: this was the token endpoint's application/json {"error": ...};
            # docs/errors.md promises a problem, as on /staff and /audit/v1.
            assert r.headers["Content-Type"].startswith("application/problem+json")
            assert (await r.json())["type"].endswith("/invalid_token")


async def test_replicas_without_a_data_directory_take_admin_tokens_from_a_secret(
        passerelle: Running, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    in_file = await mint_admin_token(passerelle, capsys)
    from_secret = "pas_adm_" + "s" * 43
    monkeypatch.setenv(ADMIN_TOKENS_VAR, f"# the admin_tokens secret\n{digest(from_secret)}\n")
    async with aiohttp.ClientSession() as session:
        url = passerelle.url + "/admin/recipients"
        async with session.get(url, headers={"Authorization": f"Bearer {from_secret}"}) as r:
            assert r.status == 200
        async with session.get(url, headers={"Authorization": f"Bearer {in_file}"}) as r:
            assert r.status == 401  # the secret wins over the file


async def test_admin_creates_lists_and_suspends(passerelle: Running, browser: Browser,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    token = await mint_admin_token(passerelle, capsys)
    auth = {"Authorization": f"Bearer {token}"}
    code, verifier = await get_code(passerelle, browser)
    _status, tokens = await exchange_code(passerelle, code, verifier)
    async with aiohttp.ClientSession(headers=auth) as session:
        base = passerelle.url + "/admin/recipients"
        async with session.post(base, json=NEW_RECIPIENT) as r:
            assert r.status == 201
            created = await r.json()
            assert r.headers["Cache-Control"] == "no-store"
        assert created["client_secret"]
        async with session.post(base, json={**NEW_RECIPIENT, "redirect_uris": ["ftp://x"]}) as r:
            assert r.status == 400
            assert (await r.json())["field"] == "redirect_uris"
        async with session.post(base, data="not json",
                                headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400
        async with session.get(base) as r:
            listed = {x["client_id"]: x for x in (await r.json())["recipients"]}
        assert created["client_id"] in listed
        assert "client_secret" not in listed[created["client_id"]]
        # The new app can get a client-credentials token with its secret.
        status, body, _r = await token_request(passerelle, {"grant_type": "client_credentials"},
                                               auth=(created["client_id"],
                                                     created["client_secret"]))
        assert status == 200
        assert body["scope"] == "daily_production production_load_curve"
        # Suspending the first app kills its tokens and hides it from the register.
        async with session.post(f"{base}/{passerelle.world.client_id}/state",
                                json={"state": "suspended"}) as r:
            assert r.status == 200
    # The suspended client cannot authenticate any more, and its tokens are revoked.
    status, body, _r = await token_request(passerelle, {"grant_type": "client_credentials"})
    assert (status, body["error"]) == (401, "invalid_client")
    async with passerelle.db.session() as session:
        row = await find_token(session, tokens["access_token"])
    assert row is not None
    assert row.revoked_at is not None
    async with aiohttp.ClientSession() as session, session.get(
            passerelle.url + "/register.json") as r:
        names = [x["name"] for x in (await r.json())["recipients"]]
    assert "Watt Coach" not in names
    assert "Solar Check" in names


async def test_public_register_lists_purposes_basis_and_categories(
        passerelle: Running, browser: Browser) -> None:
    response, text = await browser.get("/register.json")
    assert response.status == 200
    register = json.loads(text)["recipients"]
    watt = next(r for r in register if r["name"] == "Watt Coach")
    assert watt["legal_basis"] == "consent"
    assert watt["data_role"] == "controller"
    assert [p["purpose"] for p in watt["purposes"]] == ["energy_monitoring"]
    assert {c["dataset"] for c in watt["data_categories"]} == {
        "daily_consumption", "consumption_load_curve", "contract"}
    assert "client_id" not in watt
    assert "redirect_uris" not in watt
    assert "secret" not in text
    _r, html = await browser.get("/register?lang=fr")
    assert "Registre des destinataires" in html
    assert "Other App" in html
    assert "sous-traitant" in html
    assert await introspect(passerelle, "pas_at_unknown") == {"active": False}


# A token request checks that its client is active when it loads (proxy/oauth/store.py) and
# stores its token later; a suspension committing in between cannot see that token. The test
# runs the real handler's steps with the suspension placed between them.
async def test_token_issued_across_a_suspension_is_revoked_with_the_others(
        passerelle: Running, capsys: pytest.CaptureFixture[str]) -> None:
    p, app = passerelle, passerelle.app
    admin = await mint_admin_token(p, capsys)
    status, before, _r = await token_request(p, {"grant_type": "client_credentials"})
    assert status == 200  # also warms the client cache

    basic = base64.b64encode(f"{p.world.client_id}:{p.world.client_secret}".encode()).decode()
    snapshot = Snapshot("POST", p.url + "/oauth2/token",
                        CIMultiDictProxy(CIMultiDict({"Authorization": "Basic " + basic})),
                        [], [("grant_type", "client_credentials")])
    exchange = Exchange(now=p.clock.now(), issuer=p.url, access_ttl=timedelta(minutes=10),
                        code_ttl=CODE_TTL)
    store = app[token_store_key]
    await store.load(exchange, snapshot)
    with bound(exchange):
        carrier = app[oauth_server_key].create_token_response(snapshot)
    assert carrier.status == 200

    async def set_state(state: str) -> None:
        async with aiohttp.ClientSession() as s, s.post(
                f"{p.url}/admin/recipients/{p.world.client_id}/state", json={"state": state},
                headers={"Authorization": "Bearer " + admin}) as r:
            assert r.status == 200, await r.text()

    await set_state("suspended")          # commits while the request waits for its commit
    await store.apply(exchange)           # the request's group commit lands afterwards
    await set_state("active")

    assert (await introspect(p, before["access_token"]))["active"] is False
    # The token answered across the suspension must be revoked like its siblings:
    assert (await introspect(p, carrier.json["access_token"]))["active"] is False

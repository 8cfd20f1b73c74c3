"""A real OAuth client library (authlib's AsyncOAuth2Client over httpx) against a running
Passerelle: login, consent, code, token, bearer use, refresh rotation, introspection,
revocation, and withdrawal killing the tokens."""

from __future__ import annotations

import asyncio
import json
import warnings

import aiohttp
import pytest
from aiohttp import web
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # authlib 1.9 announces a move to the "httpx2" package; the httpx client still works.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from consent.evidence.records import Authentication
from consent.lifecycle import ActorRole
from consent.models import Consent
from consent.services import Actor
from consent.tokens import find_token
from proxy.auth import authenticate_bearer
from proxy.keys import consent_service_key, token_store_key
from tests.oauth.conftest import PRM, PRM2, REDIRECT_URI, Browser, Running, query_of
from tests.oauth.helpers import introspect, token_request


def oauth_client(p: Running, **kwargs: object) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(p.world.client_id, p.world.client_secret,
                             redirect_uri=REDIRECT_URI, code_challenge_method="S256",
                             **kwargs)


async def authorize(p: Running, browser: Browser, client: AsyncOAuth2Client,
                    verifier: str, **params: str) -> str:
    url, _state = client.create_authorization_url(p.url + "/oauth2/authorize",
                                                  code_verifier=verifier, **params)
    response = await browser.decide(url)
    assert response.status == 303
    return response.headers["Location"]


async def test_full_flow_with_authlib_client(passerelle_any: Running) -> None:
    p = passerelle_any
    browser = Browser(p.url)
    try:
        await _full_flow(p, browser)
    finally:
        await browser.close()


async def _full_flow(p: Running, browser: Browser) -> None:
    details = json.dumps([{"type": "meter_data", "points": [str(PRM)],
                           "datasets": ["consumption_load_curve"], "resolution": "PT30M",
                           "history": "P90D", "duration": "P30D"}])
    async with oauth_client(p, scope="daily_consumption") as client:
        verifier = generate_token(48)
        location = await authorize(p, browser, client, verifier,
                                   authorization_details=details)
        params = query_of(location)
        assert location.startswith(REDIRECT_URI + "?")
        assert params["iss"] == p.url  # RFC 9207
        assert set(params) == {"code", "state", "iss"}

        token = await client.fetch_token(p.url + "/oauth2/token",
                                         authorization_response=location,
                                         code_verifier=verifier)
        assert token["token_type"] == "Bearer"
        assert 0 < token["expires_in"] <= 3600
        assert token["scope"] == "consumption_load_curve daily_consumption"
        [detail] = token["authorization_details"]
        assert detail["points"] == [str(PRM)]
        assert detail["resolution"] == "PT30M"
        assert detail["history"] == "P90D"
        assert detail["duration"] == "P30D"

        # The data proxy's entry point accepts it.
        verified = await verify_with_bearer(p, token["access_token"])
        assert verified["points"] == [str(PRM)]
        assert verified["consent_id"] == token["consent_id"]

        # Refresh: a new pair. authlib's client sends its configured scope again, which is
        # narrower than the grant: the new tokens are cut to it (RFC 6749 §6).
        first_refresh = token["refresh_token"]
        refreshed = await client.refresh_token(p.url + "/oauth2/token")
        assert refreshed["refresh_token"] != first_refresh
        assert refreshed["access_token"] != token["access_token"]
        assert refreshed["scope"] == "daily_consumption"

        introspection = await client.introspect_token(p.url + "/oauth2/introspect",
                                                      token=refreshed["access_token"])
        body = introspection.json()
        assert body["active"] is True
        assert body["consent_id"] == token["consent_id"]
        assert body["points"] == [str(PRM)]
        assert body["datasets"] == ["daily_consumption"]
        assert body["client_id"] == p.world.client_id
        assert body["exp"] > body["iat"]

        revoked = await client.revoke_token(p.url + "/oauth2/revoke",
                                            token=refreshed["refresh_token"],
                                            token_type_hint="refresh_token")
        assert revoked.status_code == 200
        after = await client.introspect_token(p.url + "/oauth2/introspect",
                                              token=refreshed["access_token"])
        assert after.json() == {"active": False}  # the whole family went with it


async def verify_with_bearer(p: Running, access_token: str) -> dict[str, object]:
    """Call authenticate_bearer through a tiny handler on the running app's resources."""
    async def handler(request: web.Request) -> web.Response:
        token = await authenticate_bearer(request)
        return web.json_response({"points": [str(x) for x in token.points],
                                  "consent_id": token.consent_id,
                                  "datasets": sorted(token.datasets)})

    probe = web.Application()
    for key in (k for k in p.app if k in p.app):
        probe[key] = p.app[key]
    probe.router.add_get("/probe", handler)
    from aiohttp.test_utils import TestServer

    server = TestServer(probe, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session, session.get(
                server.make_url("/probe"),
                headers={"Authorization": f"Bearer {access_token}"}) as r:
            assert r.status == 200, await r.text()
            result: dict[str, object] = await r.json()
            return result
    finally:
        await server.close()


@pytest.mark.parametrize("ending", ["withdraw", "revoke"])
async def test_ending_the_consent_kills_its_tokens(passerelle: Running, browser: Browser,
                                                  ending: str) -> None:
    p = passerelle
    async with oauth_client(p, scope="daily_consumption") as client:
        verifier = generate_token(48)
        location = await authorize(p, browser, client, verifier)
        token = await client.fetch_token(p.url + "/oauth2/token",
                                         authorization_response=location,
                                         code_verifier=verifier)
        service = p.app[consent_service_key]
        consent = await service.get("default", token["consent_id"])
        assert isinstance(consent, Consent)
        if ending == "withdraw":  # by the household
            household = Actor(ActorRole.SUBJECT, party_id=consent.grantor_id,
                              authentication=Authentication("password", "alice", p.clock.now()))
            await service.withdraw(household, consent.id, reason="changed my mind")
        else:  # by the operator's side (here Passerelle itself)
            await service.revoke(Actor.system(), consent.id, reason="operator decision")

        check = await client.introspect_token(p.url + "/oauth2/introspect",
                                              token=token["access_token"])
        assert check.json() == {"active": False}
        async with p.db.session() as session:  # revoked in the same transaction, not just refused
            for raw in (token["access_token"], token["refresh_token"]):
                row = await find_token(session, raw)
                assert row is not None
                assert row.revoked_at == p.clock.now()
        response = await client.post(p.url + "/oauth2/token", data={
            "grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=(p.world.client_id, p.world.client_secret))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


async def test_household_narrows_points_datasets_and_window(passerelle: Running,
                                                           browser: Browser) -> None:
    p = passerelle
    details = json.dumps([{"type": "meter_data", "datasets": ["consumption_load_curve",
                                                             "contract"],
                           "history": "P365D", "duration": "P365D"}])

    def narrow(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
        kept = [(k, v) for k, v in fields
                if not (k == "point" and v == str(PRM2)) and not (k == "dataset"
                                                                   and v == "contract")
                and k not in {"history_days", "duration_days", "resolution"}]
        return [*kept, ("history_days", "30"), ("duration_days", "7"), ("resolution", "PT1H"),
                ("point", str(PRM2).replace("1", "9", 1)),  # a point that is not hers: ignored
                ("dataset", "daily_consumption")]           # not requested: ignored

    async with oauth_client(p) as client:
        verifier = generate_token(48)
        url, _ = client.create_authorization_url(p.url + "/oauth2/authorize",
                                                 code_verifier=verifier,
                                                 authorization_details=details)
        response = await browser.decide(url, change=narrow)
        assert response.status == 303
        token = await client.fetch_token(p.url + "/oauth2/token",
                                         authorization_response=response.headers["Location"],
                                         code_verifier=verifier)
    [detail] = token["authorization_details"]
    assert detail["points"] == [str(PRM)]
    assert detail["datasets"] == ["consumption_load_curve"]
    assert detail["resolution"] == "PT1H"
    assert detail["history"] == "P30D"
    assert detail["duration"] == "P7D"
    assert token["scope"] == "consumption_load_curve"


async def test_refusal_redirects_access_denied_and_is_recorded(passerelle: Running,
                                                             browser: Browser) -> None:
    p = passerelle
    async with oauth_client(p, scope="daily_consumption") as client:
        url, state = client.create_authorization_url(p.url + "/oauth2/authorize",
                                                     code_verifier=generate_token(48))
        response = await browser.decide(url, decision="refuse")
    assert response.status == 303
    params = query_of(response.headers["Location"])
    assert params == {"error": "access_denied", "state": state, "iss": p.url,
                      "error_description": params["error_description"]}
    async with p.db.session() as session:
        from sqlmodel import select

        states = (await session.exec(select(Consent.state))).all()
    assert [str(s) for s in states] == ["refused"]


async def test_client_credentials_token_names_the_app_only(passerelle: Running) -> None:
    p = passerelle
    async with oauth_client(p, scope="daily_consumption") as client:
        token = await client.fetch_token(p.url + "/oauth2/token",
                                         grant_type="client_credentials")
    assert "refresh_token" not in token
    assert token["scope"] == "daily_consumption"
    verified = await verify_with_bearer(p, token["access_token"])
    assert verified == {"points": [], "consent_id": None, "datasets": ["daily_consumption"]}


async def test_concurrent_client_credentials_tokens_share_commits(passerelle_any: Running,
                                                                  ) -> None:
    """Tokens issued at the same moment are stored together (group commit), each one stored
    before it is answered and each one distinct and usable."""
    p = passerelle_any
    inserts = p.app[token_store_key].inserts
    before = inserts.commits
    answers = await asyncio.gather(*(token_request(p, {"grant_type": "client_credentials"})
                                     for _ in range(24)))
    assert [status for status, _body, _r in answers] == [200] * 24
    tokens = {body["access_token"] for _status, body, _r in answers}
    assert len(tokens) == 24
    for token in tokens:
        async with p.db.session() as session:
            assert await find_token(session, token) is not None
    assert (await introspect(p, next(iter(tokens))))["active"] is True
    assert inserts.commits - before < 24  # at least two tokens shared a commit

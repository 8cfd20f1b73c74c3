"""What the evidence-wiring tests do through the real endpoints: a household consents through
the OAuth flow, the app reads through the native API, an auditor exports over HTTP."""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from datetime import timedelta
from typing import Any

from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # authlib 1.9 announces a move to the "httpx2" package; the httpx client still works.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from consent.auditors import issue_auditor_token
from consent.models import AccountRole, PartyKind, Tenant
from consent.services import registry
from tests.oauth.conftest import Browser, forms_of, query_of
from tests.proxy.world import PASSWORD, T0, USERNAME, World

REDIRECT = "https://coach.example/cb"


async def consent_through_oauth(world: World, app: str = "coach",
                                scope: str = "daily_consumption") -> dict[str, Any]:
    """Run the authorization-code flow as the household; the token response."""
    base = str(world.client.make_url("")).rstrip("/")
    client_id, secret = world.credentials[app]
    browser = Browser(base)
    try:
        async with AsyncOAuth2Client(client_id, secret, redirect_uri=REDIRECT, scope=scope,
                                     code_challenge_method="S256") as client:
            verifier = generate_token(48)
            url, _state = client.create_authorization_url(base + "/oauth2/authorize",
                                                          code_verifier=verifier)
            response, _html = await browser.get(url)
            assert response.status == 303  # to the login page
            next_path = query_of(response.headers["Location"])["next"]
            login = await browser.login(USERNAME, PASSWORD, next_path)
            assert login.status == 303
            response, html = await browser.get(login.headers["Location"])
            assert response.status == 200, html
            form = next(f for f in forms_of(html) if ("decision", "approve") in f["buttons"])
            decided, _ = await browser.post(form["action"].replace("&amp;", "&"),
                                            [*form["fields"], ("decision", "approve")])
            assert decided.status == 303, _
            token: dict[str, Any] = await client.fetch_token(
                base + "/oauth2/token", authorization_response=decided.headers["Location"],
                code_verifier=verifier)
            return token
    finally:
        await browser.close()


async def read_daily(world: World, token: str, days: int = 7) -> tuple[int, bytes]:
    """The native API for the last ``days`` days of daily consumption of :data:`PRM`."""
    end = T0.date()
    status, _body, _headers = await world.series(token, "daily_consumption",
                                                 end - timedelta(days=days), end)
    return status, world.last_body


async def auditor(world: World, username: str, *, tenant: str = "default",
                  all_tenants: bool = False) -> str:
    """An auditor account in ``tenant`` (created with the tenant if needed) and its token."""
    now = world.clock.now()
    async with world.db.session() as session:
        if await session.get(Tenant, tenant) is None:
            session.add(Tenant(id=tenant, name=tenant, created_at=now))
            await session.flush()
        party = await registry.add_party(session, tenant_id=tenant, kind=PartyKind.AUDITOR,
                                         name=username, now=now)
        await registry.add_account(session, tenant_id=tenant, username=username,
                                   password="unused-" + username, party_id=party.id,
                                   roles=[AccountRole.AUDITOR], now=now)
        _row, raw = await issue_auditor_token(session, username=username, tenant_id=tenant,
                                              all_tenants=all_tenants, now=now)
    return raw


async def call(world: World, method: str, path: str, token: str | None,
               body: Any = None, **params: str) -> tuple[int, bytes, dict[str, str]]:
    """An audit API call; status, raw body, headers."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with world.client.request(method, path, params=params, headers=headers,
                                    json=body) as response:
        return response.status, await response.read(), dict(response.headers)


def members(bundle: bytes) -> dict[str, bytes]:
    """Every member of a zip, by name."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        return {name: z.read(name) for name in z.namelist()}


def entries(bundle: bytes) -> list[tuple[int, dict[str, Any], dict[str, Any] | None]]:
    """The bundle's log entries: index, leaf, payload."""
    out = []
    for line in members(bundle)["log/entries.tsv"].decode().splitlines():
        index, leaf, payload, _mark = line.split("\t")
        out.append((int(index), json.loads(leaf),
                    None if payload == "-" else json.loads(payload)))
    return out


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

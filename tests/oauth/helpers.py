"""Raw OAuth steps for the negative tests: exact control over every parameter."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlmodel import select

from consent.models import Recipient
from consent.storage import Database
from tests.oauth.conftest import REDIRECT_URI, Browser, Running, query_of


def pkce() -> tuple[str, str]:
    """A (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def authorize_url(p: Running, **overrides: str | None) -> str:
    """An authorization URL; ``None`` in ``overrides`` drops the parameter."""
    _verifier, challenge = pkce()
    params: dict[str, str | None] = {
        "response_type": "code", "client_id": p.world.client_id,
        "redirect_uri": REDIRECT_URI, "scope": "daily_consumption", "state": "st4te",
        "code_challenge": challenge, "code_challenge_method": "S256",
    }
    params.update(overrides)
    return "/oauth2/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


async def get_code(p: Running, browser: Browser, **overrides: str) -> tuple[str, str]:
    """Run login + consent; return (code, verifier)."""
    verifier, challenge = pkce()
    url = authorize_url(p, code_challenge=challenge, **overrides)
    response = await browser.decide(url)
    assert response.status == 303, await response.text()
    return query_of(response.headers["Location"])["code"], verifier


async def token_request(p: Running, data: dict[str, str], *,
                        auth: tuple[str, str] | None = None,
                        headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any],
                                                                        aiohttp.ClientResponse]:
    """POST /oauth2/token (HTTP Basic with the main client unless ``auth`` says otherwise)."""
    user, password = auth or (p.world.client_id, p.world.client_secret)
    all_headers = {"Authorization": aiohttp.encode_basic_auth(user, password), **(headers or {})}
    async with aiohttp.ClientSession() as session, session.post(
            p.url + "/oauth2/token", data=data, headers=all_headers) as r:
        return r.status, await r.json(), r


async def exchange_code(p: Running, code: str, verifier: str | None,
                        **extra: str) -> tuple[int, dict[str, Any]]:
    """The code grant's token request."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            **extra}
    if verifier is not None:
        data["code_verifier"] = verifier
    status, body, _r = await token_request(p, data)
    return status, body


async def introspect(p: Running, token: str) -> dict[str, Any]:
    """Introspect as the main client."""
    async with aiohttp.ClientSession() as session, session.post(
            p.url + "/oauth2/introspect", data={"token": token},
            headers={"Authorization": aiohttp.encode_basic_auth(p.world.client_id,
                                                                p.world.client_secret)}) as r:
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        return body


async def granted(p: Running) -> tuple[str, str, dict[str, Any]]:
    """A code exchanged through the real flow, in a browser of its own: (code, verifier,
    token response)."""
    browser = Browser(p.url)
    try:
        code, verifier = await get_code(p, browser)
    finally:
        await browser.close()
    status, body = await exchange_code(p, code, verifier)
    assert status == 200, body
    return code, verifier, body


def only_recipient(data_dir: Path) -> Recipient:
    """The one recipient a ``passerelle clients create`` run stored in ``data_dir``'s
    embedded database."""
    async def stored() -> Recipient:
        db = Database.from_url(f"sqlite:///{data_dir / 'passerelle.db'}")
        try:
            async with db.session() as session:
                return (await session.exec(select(Recipient))).one()
        finally:
            await db.dispose()

    return asyncio.run(stored())

"""A token family revoked while one of its refreshes commits leaves no live token (RFC 7009
§2.1: revoking a refresh token invalidates the tokens of the same grant; RFC 6749 §10.4 and
the security BCP: a reused refresh token revokes its family).

Found by review, on PostgreSQL: the revoking ``UPDATE`` waited for the rotated token's row
lock, then re-read that row only; the successor the refresh had just inserted was not in its
snapshot and stayed live, so the family went on refreshing. Each test holds a refresh's
transaction open (its old token marked used, its successor inserted, not committed), starts
the revocation, then commits the refresh.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.keys import oauth_server_key, token_store_key
from proxy.oauth.endpoints import new_exchange
from proxy.oauth.glue import Snapshot, bound
from proxy.oauth.store import apply_in
from tests.oauth.conftest import Running
from tests.oauth.helpers import granted, token_request


class _AppOnly(dict[str, Any]):
    """What :func:`new_exchange` reads of a request: its application."""

    def __init__(self, app: object) -> None:
        super().__init__()
        self.app = app


async def _refresh_racing(p: Running, refresh_token: str, form: dict[str, str],
                          path: str) -> tuple[str, int]:
    """Refresh ``refresh_token`` in a transaction held open while ``form`` is posted to
    ``path``; the new refresh token and the post's status."""
    basic = aiohttp.encode_basic_auth(p.world.client_id, p.world.client_secret)
    snapshot = Snapshot("POST", p.url + "/oauth2/token",
                        CIMultiDictProxy(CIMultiDict({"Authorization": basic})), [],
                        [("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
    exchange = new_exchange(_AppOnly(p.app))  # type: ignore[arg-type]
    await p.app[token_store_key].load(exchange, snapshot)
    with bound(exchange):
        carrier = p.app[oauth_server_key].create_token_response(snapshot)
    assert carrier.status == 200

    async def post() -> int:
        async with aiohttp.ClientSession() as http, http.post(
                p.url + path, data=form, headers={"Authorization": basic}) as r:
            return r.status

    async with p.db.session() as session:  # the refresh's transaction, held open a moment
        assert not await apply_in(session, exchange)
        await session.flush()
        racing = asyncio.create_task(post())
        await asyncio.sleep(0.5)  # it starts, and (PostgreSQL) waits for our row lock
    return carrier.body["refresh_token"], await racing


async def test_revoking_a_refresh_token_during_its_refresh_revokes_the_successor(
        passerelle_any: Running) -> None:
    _code, _verifier, tokens = await granted(passerelle_any)
    successor, revoked = await _refresh_racing(
        passerelle_any, tokens["refresh_token"], {"token": tokens["refresh_token"]},
        "/oauth2/revoke")
    assert revoked == 200
    status, body, _ = await token_request(passerelle_any, {
        "grant_type": "refresh_token", "refresh_token": successor})
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_a_reuse_detected_during_a_refresh_revokes_the_successor(
        passerelle_any: Running) -> None:
    _code, _verifier, first = await granted(passerelle_any)
    status, tokens, _ = await token_request(passerelle_any, {
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert status == 200  # the first refresh token is used now: presenting it is a reuse
    successor, reused = await _refresh_racing(
        passerelle_any, tokens["refresh_token"],
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        "/oauth2/token")
    assert reused == 400
    status, body, _ = await token_request(passerelle_any, {
        "grant_type": "refresh_token", "refresh_token": successor})
    assert (status, body["error"]) == (400, "invalid_grant")

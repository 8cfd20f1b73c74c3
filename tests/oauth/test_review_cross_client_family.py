"""Review finding: reuse detection on a refresh token runs before the client check.

``RefreshGrant.authenticate_refresh_token`` marks a rotated (or revoked) refresh token's family
for revocation as soon as the token string matches, and authlib checks that the token belongs
to the authenticated client only afterwards. So *another* registered app presenting a stale
copy of app A's refresh token revokes app A's live tokens. The code grant checks the recipient
first (``query_authorization_code``); the refresh grant should too.
"""

from __future__ import annotations

from tests.oauth.conftest import Browser, Running
from tests.oauth.helpers import exchange_code, get_code, introspect, token_request


async def test_another_client_cannot_revoke_a_family_with_a_stale_refresh_token(
        passerelle: Running, browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    _status, first = await exchange_code(passerelle, code, verifier)
    status, second, _r = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert status == 200  # first["refresh_token"] is now rotated (stale)
    other = (passerelle.world.other_client_id, passerelle.world.other_client_secret)
    status, body, _r = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=other)
    assert (status, body["error"]) == (400, "invalid_grant")
    # App A's live tokens must be untouched by another app's request.
    assert (await introspect(passerelle, second["access_token"]))["active"] is True

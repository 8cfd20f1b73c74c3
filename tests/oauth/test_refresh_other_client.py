"""A refresh token is bound to the client it was issued to (RFC 6749 §6, §10.4), and reuse
detection (RFC 9700 §4.14.2) is that client's alone.

``RefreshGrant.authenticate_refresh_token`` refuses another client's token (``invalid_grant``)
before it looks at rotation: found by review, a stale copy of app A's refresh token presented
by app B with B's own credentials used to mark A's family for revocation, since authlib checks
the token's client only after. The code grant checks the recipient first too
(``query_authorization_code``).
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


async def test_the_issuing_client_reusing_its_stale_token_still_revokes_the_family(
        passerelle: Running, browser: Browser) -> None:
    """The check above must not weaken reuse detection for the token's own client."""
    code, verifier = await get_code(passerelle, browser)
    _status, first = await exchange_code(passerelle, code, verifier)
    status, second, _r = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert status == 200
    status, body, _r = await token_request(passerelle, {
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_grant")
    assert (await introspect(passerelle, second["access_token"]))["active"] is False

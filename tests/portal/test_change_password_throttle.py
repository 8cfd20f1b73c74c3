"""The current password asked to change it is checked under the login throttle, like /login
(proxy/portal/identity.py, proxy/web/ratelimit.py).

Found by review: the form checked the current password without any throttle, so a session left
open was a way to guess the password it protects: 12 wrong guesses, then the right one changed
it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlmodel import select

from consent.logins import check_password
from consent.models import Account
from proxy.web.ratelimit import ACCOUNT_LIMIT, WINDOW
from tests.oauth.conftest import Browser
from tests.portal.helpers import csrf_of, field_error, post
from tests.portal.world import PASSWORD, Portal

PATH = "/account/security/password"
NEW = "brand-new-password"


async def _change(alice: Browser, current: str) -> tuple[int, str, str | None]:
    response, html = await post(alice, PATH + "?lang=en", {
        "current": current, "password": NEW, "password2": NEW}, page="/account/security")
    return response.status, html, response.headers.get("Retry-After")


async def _still_the_old_password(portal: Portal) -> bool:
    async with portal.db.session() as session:
        account = (await session.exec(select(Account).where(Account.username == "alice"))).one()
    return check_password(account, PASSWORD)


async def test_wrong_current_passwords_lock_the_form_and_the_login(portal: Portal,
                                                                   alice: Browser) -> None:
    for i in range(ACCOUNT_LIMIT):
        status, html, _ = await _change(alice, f"wrong-{i}")
        assert status == 400
        assert field_error(html, "current") == "This is not your current password."
    status, html, retry = await _change(alice, PASSWORD)  # the right one, unchecked
    assert status == 429
    assert retry is not None
    assert 0 < int(retry) <= WINDOW.total_seconds()
    assert field_error(html, "current") is not None
    assert await _still_the_old_password(portal)
    stranger = Browser(portal.url)
    try:  # the same account window as /login
        assert (await stranger.login("alice", PASSWORD)).status == 429
    finally:
        await stranger.close()

    portal.clock.advance(WINDOW + timedelta(seconds=1))
    status, _html, _ = await _change(alice, PASSWORD)
    assert status == 303
    assert not await _still_the_old_password(portal)


async def test_concurrent_guesses_of_the_current_password_get_the_limit(
        portal: Portal, alice: Browser) -> None:
    token = await csrf_of(alice, "/account/security")

    async def change(current: str) -> int:
        response, _ = await alice.post(PATH, [
            ("csrf_token", token), ("current", current), ("password", NEW), ("password2", NEW)],
            headers={"Origin": alice.base})
        return response.status

    statuses = await asyncio.gather(*(change(f"wrong-{i}") for i in range(12)))
    assert Counter(statuses) == {400: ACCOUNT_LIMIT, 429: 12 - ACCOUNT_LIMIT}

"""A form whose body arrives in several pieces is read whole (proxy/web/body.py).

Found by a review: the form reader took what had arrived for the body, so a narrowing sent in
two TCP segments kept only the first dataset ticked, answered 303 and signed that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from tests.oauth.conftest import Browser
from tests.portal.helpers import consent, consents_of, csrf_of
from tests.portal.world import ALICE_PRM, Portal


async def test_a_form_sent_in_two_pieces_is_read_whole(portal: Portal, alice: Browser) -> None:
    old = await consent(portal, "alice_coach")
    token = await csrf_of(alice)
    body = urlencode([("csrf_token", token), ("version", str(old.version)),
                      ("points", str(ALICE_PRM)), ("history_days", "90"),
                      ("until", "2027-05-31"), ("datasets", "daily_consumption"),
                      ("datasets", "consumption_load_curve")]).encode()
    cut = body.index(b"&datasets=consumption_load_curve")

    async def pieces() -> AsyncIterator[bytes]:
        yield body[:cut]
        await asyncio.sleep(0.05)  # the second segment arrives after the handler started
        yield body[cut:]

    async with alice.session.post(f"{portal.url}/account/consents/{old.id}/narrow",
                                  data=pieces(), allow_redirects=False, headers={
                                      "Origin": alice.base,
                                      "Content-Type": "application/x-www-form-urlencoded",
                                  }) as response:
        assert response.status == 303
    rows = [c for c in await consents_of(portal, "alice") if c.recipient_id == old.recipient_id]
    assert sorted(rows[-1].datasets) == ["consumption_load_curve", "daily_consumption"]
    assert rows[-1].history_days == 90

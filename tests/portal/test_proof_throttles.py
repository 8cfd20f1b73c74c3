"""The portal's proof forms count an attempt before its proof is checked, so a concurrent burst
gets no more checks than the limit (proxy/web/ratelimit.py, proxy/portal/claims.py).

Found by review: the reset form and the claim form asked their throttle first, then the DSO (or
argon2), and counted the failure only afterwards; requests sent at once all passed the check.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlmodel import select

from consent.identity import issue_reset_code
from consent.models import Account
from proxy.portal.claims import MAX_REFUSALS
from proxy.web.ratelimit import ACCOUNT_LIMIT
from tests.oauth.conftest import Browser
from tests.portal.helpers import csrf_of
from tests.portal.world import ALICE_PCE, FREE_PRM, Portal


async def test_concurrent_meter_number_guesses_get_no_more_checks_than_the_limit(
        portal: Portal, alice: Browser) -> None:
    token = await csrf_of(alice, "/account/claim")
    guesses = [f"0000000000{i:02}" for i in range(15)] + [portal.meter_number(FREE_PRM)]

    async def claim(number: str) -> int:
        response, _ = await alice.post("/account/claim", [
            ("csrf_token", token), ("source", "enedis"), ("identifier", FREE_PRM.identifier),
            ("meter_number", number)], headers={"Origin": alice.base})
        return response.status

    statuses = await asyncio.gather(*(claim(n) for n in guesses))
    checked = sum(1 for s in statuses if s != 429)
    assert checked <= MAX_REFUSALS + 1, Counter(statuses)


async def test_concurrent_reset_guesses_get_no_more_checks_than_the_limit(
        portal: Portal) -> None:
    async with portal.db.session() as session:
        account = (await session.exec(select(Account).where(Account.username == "alice"))).one()
        code = await issue_reset_code(session, account, portal.clock.now(), issued_by="test")
    visitor = Browser(portal.url)
    try:
        token = await csrf_of(visitor, "/account/reset")
        numbers = [f"0000000000{i:02}" for i in range(15)] + [portal.meter_number(ALICE_PCE)]

        async def reset(number: str) -> int:
            response, _ = await visitor.post("/account/reset", [
                ("csrf_token", token), ("username", "alice"), ("code", code),
                ("meter_number", number), ("password", "new-password-42"),
                ("password2", "new-password-42")], headers={"Origin": visitor.base})
            return response.status

        statuses = await asyncio.gather(*(reset(n) for n in numbers))
    finally:
        await visitor.close()
    checked = sum(1 for s in statuses if s != 429)
    assert checked <= ACCOUNT_LIMIT + 1, Counter(statuses)

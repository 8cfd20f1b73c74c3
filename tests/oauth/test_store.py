"""The database is the last word on single use: a redemption that loses a race is a replay."""

from __future__ import annotations

import pytest

from consent.tokens import find_code, redeem_code
from proxy.errors import InvalidGrant
from proxy.oauth.endpoints import new_exchange
from proxy.oauth.exchange import CodeRecord
from proxy.oauth.store import apply
from tests.oauth.conftest import Browser, Running
from tests.oauth.helpers import exchange_code, get_code, introspect


class _Request(dict):  # type: ignore[type-arg]
    """Enough of a web.Request for new_exchange."""

    def __init__(self, app: object) -> None:
        super().__init__()
        self.app = app


async def test_09b_a_lost_redemption_race_revokes_the_family(passerelle: Running,
                                                            browser: Browser) -> None:
    code, verifier = await get_code(passerelle, browser)
    async with passerelle.db.session() as session:
        stale = await find_code(session, code)
    assert stale is not None
    assert stale.used_at is None
    status, tokens = await exchange_code(passerelle, code, verifier)  # the winner
    assert status == 200
    # The loser read the code before the winner wrote: the hooks saw it unused.
    exchange = new_exchange(_Request(passerelle.app))  # type: ignore[arg-type]
    exchange.redeemed = CodeRecord(stale)
    with pytest.raises(InvalidGrant):
        await apply(passerelle.db, exchange)
    assert await introspect(passerelle, tokens["access_token"]) == {"active": False}
    async with passerelle.db.session() as session:
        assert not await redeem_code(session, stale.id, passerelle.clock.now())

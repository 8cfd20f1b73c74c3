"""Who can already sign into a household's account (:func:`consent.identity.way_in`): the line
between "the meter number may link an OpenID identity" and "sign in first" (R15)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent import identity
from consent.clock import FrozenClock
from consent.models import Account, AccountRole
from consent.storage import Database
from tests.support.world import World


@pytest.mark.parametrize(("setup", "has_way_in"), [
    ("no account", False),
    ("account without password", False),
    ("used reset code", False),
    ("expired reset code", False),
    ("disabled account with a password", True),
    ("password", True),
    ("linked identity", True),
    ("live reset code", True),
])
async def test_way_in(db: Database, world: World, clock: FrozenClock, setup: str,
                      has_way_in: bool) -> None:
    now = clock.now()
    async with db.session() as session:
        if setup != "no account":
            account = await identity.household_account(session, "default", world.bob.id, now)
            if "password" in setup and "without" not in setup:
                account.password_hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"
                account.disabled = setup.startswith("disabled")
                session.add(account)
            elif setup == "linked identity":
                await identity.link_identity(session, account, "https://fc.example", "s-1",
                                             "meter_number", now)
            elif "reset code" in setup:
                code = await identity.issue_reset_code(session, account, now, issued_by="desk")
                reset = await identity.live_reset(session, account, code, now)
                assert reset is not None
                if setup.startswith("used"):
                    reset.used_at = now
                elif setup.startswith("expired"):
                    reset.expires_at = now - timedelta(seconds=1)
                session.add(reset)
    async with db.session() as session:
        found = await identity.way_in(session, "default", world.bob.id, now)
        assert (found is not None) == has_way_in
        if found is not None:
            assert isinstance(found, Account)
            assert found.party_id == world.bob.id
            assert found.has_role(AccountRole.HOUSEHOLD) or found.disabled

"""Who can already sign into a household's account (:func:`consent.identity.way_in`): the line
between "the meter number may link an OpenID identity" and "sign in first" (R15); removing a
link (:func:`consent.identity.remove_identity`) never takes the last way in."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from consent import identity
from consent.clock import FrozenClock
from consent.errors import Conflict, NotFound
from consent.models import Account, AccountRole, ExternalIdentity
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


async def _two_links(db: Database, world: World, now: datetime) -> tuple[Account, list[str]]:
    """Bob's account without a password, with two linked identities."""
    async with db.session() as session:
        account = await identity.household_account(session, "default", world.bob.id, now)
        ids = [(await identity.link_identity(session, account, "https://fc.example", sub,
                                             "meter_number", now)).id
               for sub in ("s-1", "s-2")]
    return account, ids


async def test_removing_links_keeps_the_last_way_in(db: Database, world: World,
                                                   clock: FrozenClock) -> None:
    account, (first, second) = await _two_links(db, world, clock.now())
    async with db.session() as session:
        removed = await identity.remove_identity(session, account, first)
    assert removed.subject == "s-1"
    with pytest.raises(Conflict) as refused:
        async with db.session() as session:
            await identity.remove_identity(session, account, second)
    assert refused.value.extra["reason"] == "last_way_in"
    for missing in (first, "no-such-id"):
        with pytest.raises(NotFound):
            async with db.session() as session:
                await identity.remove_identity(session, account, missing)
    async with db.session() as session:
        assert [link.id for link in await identity.identities_of(session, account.id)] == [second]


async def test_another_accounts_link_is_not_found(db: Database, world: World,
                                                  clock: FrozenClock) -> None:
    _, (first, _second) = await _two_links(db, world, clock.now())
    async with db.session() as session:
        alice = await identity.household_account(session, "default", world.alice.id, clock.now())
    with pytest.raises(NotFound):
        async with db.session() as session:
            await identity.remove_identity(session, alice, first)
    async with db.session() as session:
        assert await session.get(ExternalIdentity, first) is not None


async def _removal(db: Database, account: Account, link_id: str) -> str:
    try:
        async with db.session() as session:
            await identity.remove_identity(session, account, link_id)
    except Conflict:
        return "refused"
    return "removed"


async def _until_blocked(db: Database, task: asyncio.Task[str]) -> None:
    """PostgreSQL: until ``task``'s transaction waits on a lock (or ends, if nothing blocks
    it). SQLite has one writer: the open write transaction holds the other back anyway."""
    if db.dialect != "postgresql":
        await asyncio.sleep(0.05)
        return
    async with db.engine.connect() as conn:
        while not task.done():
            waiting = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"))).scalar_one()
            if waiting:
                return
            await conn.rollback()  # a fresh snapshot of pg_stat_activity
            await asyncio.sleep(0.01)


async def test_removing_the_last_two_links_at_once_keeps_one(db: Database, world: World,
                                                             clock: FrozenClock) -> None:
    """The second removal starts while the first is not committed: the account lock makes it
    see the first one's result, so it refuses instead of removing the last way in."""
    account, (first, second) = await _two_links(db, world, clock.now())
    async with db.session() as session:
        await identity.remove_identity(session, account, first)
        other = asyncio.create_task(_removal(db, account, second))
        await _until_blocked(db, other)
    assert await other == "refused"
    async with db.session() as session:
        assert [link.id for link in await identity.identities_of(session, account.id)] == [second]


@pytest.mark.parametrize(("subject", "shown"), [
    ("fc-alice-0001", "…0001"), ("a" * 64 + "beef", "…beef"), ("short-sub", "…"), ("", "…")])
def test_a_subject_is_shown_masked(subject: str, shown: str) -> None:
    assert identity.masked_subject(subject) == shown

"""Who can already sign into a household's account (:func:`consent.identity.way_in`): the line
between "the meter number may link an OpenID identity" and "sign in first" (R15); removing a
link (:func:`consent.external_identities.remove_identity`) never takes the last way in and ends
exactly the sessions it opened; a first password is set once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from consent import external_identities, identity
from consent.accounts import verify_password
from consent.clock import FrozenClock
from consent.errors import Conflict, DomainError, NotFound
from consent.models import Account, AccountRole, BrowserSession, ExternalIdentity
from consent.storage import Database
from consent.tokens import SESSION_PREFIX, digest, new_secret
from tests.conftest import T0 as NOW
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
                await external_identities.link_identity(session, account, "https://fc.example",
                                                        "s-1", "meter_number", now)
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
        ids = [(await external_identities.link_identity(
            session, account, "https://fc.example", sub, "meter_number", now)).id
               for sub in ("s-1", "s-2")]
    return account, ids


async def test_removing_links_keeps_the_last_way_in(db: Database, world: World,
                                                   clock: FrozenClock) -> None:
    account, (first, second) = await _two_links(db, world, clock.now())
    async with db.session() as session:
        removed = await external_identities.remove_identity(session, account, first, NOW)
    assert (removed.link.subject, removed.sessions_ended) == ("s-1", 0)
    with pytest.raises(Conflict) as refused:
        async with db.session() as session:
            await external_identities.remove_identity(session, account, second, NOW)
    assert refused.value.extra["reason"] == "last_way_in"
    for missing in (first, "no-such-id"):
        with pytest.raises(NotFound):
            async with db.session() as session:
                await external_identities.remove_identity(session, account, missing, NOW)
    async with db.session() as session:
        remaining = await external_identities.identities_of(session, account.id)
        assert [link.id for link in remaining] == [second]


async def test_another_accounts_link_is_not_found(db: Database, world: World,
                                                  clock: FrozenClock) -> None:
    _, (first, _second) = await _two_links(db, world, clock.now())
    async with db.session() as session:
        alice = await identity.household_account(session, "default", world.alice.id, clock.now())
    with pytest.raises(NotFound):
        async with db.session() as session:
            await external_identities.remove_identity(session, alice, first, NOW)
    async with db.session() as session:
        assert await session.get(ExternalIdentity, first) is not None


async def _removal(db: Database, account: Account, link_id: str) -> str:
    try:
        async with db.session() as session:
            await external_identities.remove_identity(session, account, link_id, NOW)
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
        await external_identities.remove_identity(session, account, first, NOW)
        other = asyncio.create_task(_removal(db, account, second))
        await _until_blocked(db, other)
    assert await other == "refused"
    async with db.session() as session:
        remaining = await external_identities.identities_of(session, account.id)
        assert [link.id for link in remaining] == [second]


@pytest.mark.parametrize(("subject", "shown"), [
    ("fc-alice-0001", "…0001"), ("a" * 64 + "beef", "…beef"), ("short-sub", "…"), ("", "…")])
def test_a_subject_is_shown_masked(subject: str, shown: str) -> None:
    assert external_identities.masked_subject(subject) == shown


def _session(account: Account, method: str, link_id: str | None, now: datetime, *,
             revoked: bool = False) -> BrowserSession:
    return BrowserSession(token_hash=digest(new_secret(SESSION_PREFIX)), account_id=account.id,
                          created_at=now, expires_at=now + timedelta(hours=12),
                          auth_method=method, external_identity_id=link_id,
                          revoked_at=now if revoked else None)


async def test_removing_an_identity_ends_exactly_the_sessions_it_opened(
        db: Database, world: World, clock: FrozenClock) -> None:
    """Its sessions end; another identity's, a password's, and already ended ones are left
    as they are. An OpenID session from before revision 0014 (no identity recorded) may be
    this identity's: it ends too."""
    now = clock.now()
    account, (first, second) = await _two_links(db, world, now)
    rows = {"first": _session(account, "oidc", first, now),
            "first again": _session(account, "oidc", first, now),
            "first, ended": _session(account, "oidc", first, now - timedelta(hours=1),
                                     revoked=True),
            "second": _session(account, "oidc", second, now),
            "before 0014": _session(account, "oidc", None, now),
            "reset code": _session(account, "reset", None, now)}
    async with db.session() as session:
        session.add_all(rows.values())
    later = now + timedelta(minutes=5)
    async with db.session() as session:
        removal = await external_identities.remove_identity(session, account, first, later)
    assert removal.sessions_ended == 3
    async with db.session() as session:
        stored = {name: await session.get(BrowserSession, row.id) for name, row in rows.items()}
    ended = {name for name, row in stored.items() if row is not None and row.revoked_at == later}
    assert ended == {"first", "first again", "before 0014"}
    assert {name for name, row in stored.items() if row is not None
            and row.revoked_at is None} == {"second", "reset code"}
    # ON DELETE SET NULL: the ended sessions no longer point at the removed identity.
    assert {name for name, row in stored.items() if row is not None
            and row.external_identity_id == first} == set()
    assert stored["second"] is not None
    assert stored["second"].external_identity_id == second


async def test_a_refused_removal_ends_no_session(db: Database, world: World,
                                                clock: FrozenClock) -> None:
    now = clock.now()
    account, (first, second) = await _two_links(db, world, now)
    async with db.session() as session:
        await external_identities.remove_identity(session, account, first, now)
        opened = _session(account, "oidc", second, now)
        session.add(opened)
    with pytest.raises(Conflict):
        async with db.session() as session:
            await external_identities.remove_identity(session, account, second, now)
    async with db.session() as session:
        row = await session.get(BrowserSession, opened.id)
    assert row is not None
    assert (row.revoked_at, row.external_identity_id) == (None, second)


async def test_a_session_cannot_name_a_removed_identity(db: Database, world: World,
                                                       clock: FrozenClock) -> None:
    """The foreign key behind "a sign-in that lost the race to a removal starts nothing"
    (proxy/web/session.py turns it into a Conflict)."""
    now = clock.now()
    account, (first, _second) = await _two_links(db, world, now)
    async with db.session() as session:
        await external_identities.remove_identity(session, account, first, now)
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(_session(account, "oidc", first, now))


async def _first_password(db: Database, account: Account, password: str,
                          now: datetime) -> str:
    try:
        async with db.session() as session:
            await identity.set_first_password(session, account, password, now)
    except Conflict as refused:
        return str(refused.extra["reason"])
    return "set"


async def test_a_first_password_is_set_once(db: Database, world: World,
                                           clock: FrozenClock) -> None:
    """Two first passwords at once (two tabs): one is set, the other is the "has_password"
    conflict, and the stored hash is the one that was set; the account's sessions end."""
    now = clock.now()
    account, (first, _second) = await _two_links(db, world, now)
    opened = _session(account, "oidc", first, now)
    async with db.session() as session:
        session.add(opened)
    tries = ("first-password-one", "first-password-two")
    outcomes = await asyncio.gather(*(_first_password(db, account, p, now) for p in tries))
    assert sorted(outcomes) == ["has_password", "set"]
    chosen = tries[outcomes.index("set")]
    async with db.session() as session:
        stored = await session.get(Account, account.id)
        row = await session.get(BrowserSession, opened.id)
    assert stored is not None
    assert row is not None
    assert verify_password(stored.password_hash, chosen)
    assert stored.password_changed_at == now
    assert row.revoked_at == now
    with pytest.raises(DomainError):  # the same policy as a change
        async with db.session() as session:
            await identity.set_first_password(session, account, "short", now)

"""The sweep of expired credentials (consent/expiry_sweep.py): what goes, what stays, and that
a purged code or token is answered exactly as an expired one was, through the real endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, func
from sqlmodel import select

from consent.auditors import AuditorToken
from consent.expiry_sweep import EXPIRY_MARGIN, prune_expired
from consent.models import Account, PasswordReset, StaffToken
from consent.models.oauth import AuthorizationCode, BrowserSession, OAuthToken
from consent.services.tenants import create_tenant
from consent.staff import STAFF_PREFIX, authenticate_token
from consent.storage import Database
from consent.tokens import digest
from tests.oauth.conftest import Browser, Running
from tests.oauth.helpers import exchange_code, get_code, granted, introspect, token_request

TICK = timedelta(microseconds=1)
PLAIN = (BrowserSession, StaffToken, AuditorToken, PasswordReset)


async def _count(p: Running, model: Any) -> int:
    async with p.db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def _refresh(p: Running, refresh_token: str) -> tuple[int, dict[str, Any]]:
    status, body, _r = await token_request(p, {"grant_type": "refresh_token",
                                               "refresh_token": refresh_token})
    return status, body


@contextmanager
def _deletes(db: Database, table: str) -> Iterator[list[int]]:
    """The row counts of every DELETE on ``table`` run meanwhile."""
    counts: list[int] = []

    prefix = "DELETE FROM " + table + " "  # noqa: S608 (matched against, never run)

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith(prefix):
            counts.append(cursor.rowcount)

    event.listen(db.engine.sync_engine, "after_cursor_execute", seen)
    try:
        yield counts
    finally:
        event.remove(db.engine.sync_engine, "after_cursor_execute", seen)


async def test_rows_stay_to_their_bound_and_go_one_microsecond_later_in_every_tenant(
        passerelle_any: Running) -> None:
    p = passerelle_any
    now = p.clock.now()
    bound = now - EXPIRY_MARGIN  # expires_at of a row the sweep keeps at the last instant
    async with p.db.session() as session:
        await create_tenant(session, "wallonie", "Wallonie", now)
        account = (await session.exec(select(Account))).first()
        assert account is not None
        for tenant in ("default", "wallonie"):
            for n, expires in enumerate((bound - TICK, bound, now + timedelta(hours=1))):
                key = f"{tenant}-{n}"
                common = {"tenant_id": tenant, "account_id": account.id, "created_at": now,
                          "expires_at": expires}
                session.add(BrowserSession(token_hash=digest("s" + key), **common))
                session.add(StaffToken(token_hash=digest("t" + key), **common))
                session.add(AuditorToken(token_hash=digest("a" + key), **common))
                session.add(PasswordReset(code_hash=digest("r" + key), issued_by="desk",
                                          **common))
            session.add(AuditorToken(token_hash=digest("never" + tenant), tenant_id=tenant,
                                     account_id=account.id, created_at=now, expires_at=None))
    assert await prune_expired(p.db, now, batch=1) == 2 * len(PLAIN)
    for model in PLAIN:
        async with p.db.session() as session:
            left = (await session.exec(select(model))).all()
        assert sorted((r.tenant_id, r.expires_at) for r in left if r.expires_at) == sorted(
            (t, e) for t in ("default", "wallonie") for e in (bound, now + timedelta(hours=1)))
    assert await _count(p, AuditorToken) == 6  # those without expiry never go


async def test_an_unused_code_goes_past_its_expiry_and_is_invalid_grant_before_and_after(
        passerelle_any: Running) -> None:
    p = passerelle_any
    b = Browser(p.url)
    try:
        code, verifier = await get_code(p, b)
    finally:
        await b.close()
    async with p.db.session() as session:
        expires = (await session.exec(select(AuthorizationCode))).one().expires_at
    p.clock.set(expires + EXPIRY_MARGIN)
    assert await prune_expired(p.db, p.clock.now()) == 0
    status, body = await exchange_code(p, code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")
    p.clock.advance(TICK)
    assert await prune_expired(p.db, p.clock.now()) == 1
    status, body = await exchange_code(p, code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_a_dead_family_goes_whole_and_every_replay_is_still_invalid_grant(
        passerelle_any: Running) -> None:
    p = passerelle_any
    code, verifier, tokens = await granted(p)
    async with p.db.session() as session:
        refresh_expiry = max(t.expires_at for t in (await session.exec(select(OAuthToken))).all())
    p.clock.set(refresh_expiry + EXPIRY_MARGIN)  # the refresh token's last kept instant
    await prune_expired(p.db, p.clock.now())  # the access token (and the browser session)
    assert (await _count(p, OAuthToken), await _count(p, AuthorizationCode)) == (1, 1)
    before = (await exchange_code(p, code, verifier), await _refresh(p, tokens["refresh_token"]))
    p.clock.advance(TICK)
    assert await prune_expired(p.db, p.clock.now()) == 2  # the refresh token and its code
    assert (await _count(p, OAuthToken), await _count(p, AuthorizationCode)) == (0, 0)
    after = (await exchange_code(p, code, verifier), await _refresh(p, tokens["refresh_token"]))
    assert [(s, b["error"]) for s, b in before] == [(400, "invalid_grant")] * 2
    assert [(s, b["error"]) for s, b in after] == [(400, "invalid_grant")] * 2
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert await introspect(p, token) == {"active": False}


async def test_refresh_tokens_expire_when_idle_and_rotated_ones_go_once_expired(
        passerelle_any: Running) -> None:
    """A refresh token lives ``refresh_idle`` (30 days) unless used; a use issues a new one
    (sliding). Within its window a reused rotated token revokes its family; past it, the
    rotated token is deleted (a copy of it is refused either way) while the family lives on."""
    p = passerelle_any
    code, verifier, first = await granted(p)
    p.clock.advance(timedelta(days=29))
    status, second = await _refresh(p, first["refresh_token"])  # used within its window
    assert status == 200, second
    async with p.db.session() as session:
        row = (await session.exec(select(OAuthToken).where(
            OAuthToken.token_hash == digest(second["refresh_token"])))).one()
    assert row.expires_at == p.clock.now() + timedelta(days=30)  # a new window from its issue
    # The first refresh token expired 30 days after its issue; an hour later it goes (with the
    # two expired access tokens), its successor and the family's code stay.
    p.clock.advance(timedelta(days=1) + EXPIRY_MARGIN + TICK)
    with _deletes(p.db, "oauth_token") as counts:
        await prune_expired(p.db, p.clock.now(), batch=1)  # the sign-in's session goes too
    assert sum(counts) == 3
    assert max(counts) <= 1
    assert (await _count(p, OAuthToken), await _count(p, AuthorizationCode)) == (1, 1)
    # A copy of the deleted token is only refused: the family lives on.
    status, body = await _refresh(p, first["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    status, third = await _refresh(p, second["refresh_token"])
    assert status == 200, third
    # A copy of a rotated token still inside its window revokes the family (reuse detection).
    status, body = await _refresh(p, second["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await _refresh(p, third["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await exchange_code(p, code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_an_idle_refresh_token_is_refused_after_its_window(
        passerelle_any: Running) -> None:
    p = passerelle_any
    _code, _verifier, first = await granted(p)
    p.clock.advance(timedelta(days=30) + TICK)
    status, body = await _refresh(p, first["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_a_revoked_staff_token_is_kept_and_refused_until_it_expires(
        passerelle_any: Running) -> None:
    p = passerelle_any
    now = p.clock.now()
    raw = STAFF_PREFIX + "revoked"
    async with p.db.session() as session:
        account = (await session.exec(select(Account))).first()
        assert account is not None
        session.add(StaffToken(tenant_id=account.tenant_id, token_hash=digest(raw),
                               account_id=account.id, created_at=now - timedelta(hours=2),
                               expires_at=now + timedelta(hours=10), revoked_at=now))
    p.clock.advance(timedelta(hours=10) + EXPIRY_MARGIN)
    assert await prune_expired(p.db, p.clock.now()) == 0
    async with p.db.session() as session:
        assert await authenticate_token(session, raw, p.clock.now()) is None
    p.clock.advance(TICK)
    assert await prune_expired(p.db, p.clock.now()) == 1
    async with p.db.session() as session:
        assert await authenticate_token(session, raw, p.clock.now()) is None


async def test_many_expired_access_tokens_go_in_bounded_batches(passerelle_any: Running) -> None:
    p = passerelle_any
    _code, _verifier, tokens = await granted(p)
    async with p.db.session() as session:
        row = (await session.exec(select(OAuthToken).where(
            OAuthToken.token_hash == digest(tokens["access_token"])))).one()
        base = row.model_dump(exclude={"id", "token_hash", "family_id"})
        for n in range(7):
            session.add(OAuthToken(**{**base, "token_hash": digest(f"at{n}"),
                                      "family_id": f"fam{n}"}))
    p.clock.advance(timedelta(hours=3))
    with _deletes(p.db, "oauth_token") as counts:
        assert await prune_expired(p.db, p.clock.now(), batch=3) == 8
    assert (sum(counts), max(counts)) == (8, 3)
    assert await _count(p, OAuthToken) == 1  # the live refresh token
    async with p.db.engine.connect() as conn:
        kinds = (await conn.execute(sa.select(OAuthToken.__table__.c.kind))).scalars().all()  # type: ignore[attr-defined]
    assert kinds == ["refresh"]


async def test_every_instance_runs_the_expiry_sweep(passerelle: Running) -> None:
    assert "expiry-janitor" in {task.get_name() for task in asyncio.all_tasks()}

"""Household identity beyond the password: reset codes, passwords, sessions (R7, R15).

**Password reset without a mailbox (R7).** The operator issues a one-time *reset code* (``passerelle
accounts reset-code USERNAME``) and hands it over out of band: at a counter, on the phone after
the usual identity questions, or printed in a letter. The household then proves two things at
``/account/reset``: the code (something the operator gave it) and the meter number of one of its
points (something only the occupant can read, R15). Codes are 80 random bits written in
Crockford base32 (``XXXX-XXXX-XXXX-XXXX``), valid :data:`RESET_CODE_TTL`, single use (a
conditional ``UPDATE ... WHERE used_at IS NULL``), stored as SHA-256 only; issuing a new code
voids the previous ones, and a successful reset ends every session of the account.

**Passwords.** A household changes its password by typing the current one; an account that has
none (registered through OpenID only, or on paper) chooses a first one from a signed-in session
(:func:`set_first_password`: the session is the proof). Either way every session of the account
ends (the caller signs its own browser in again).

**Who can sign in (R15).** :func:`way_in` says whether someone can already sign into a
household's account, the line between "the meter number may link an OpenID identity" and "sign
in first". The links themselves: :mod:`consent.external_identities`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.accounts import hash_password_async
from consent.errors import Conflict, DomainError
from consent.models import (
    Account,
    AccountRole,
    BrowserSession,
    ExternalIdentity,
    PasswordReset,
)
from consent.models.base import new_id
from consent.tokens import digest

#: How long a reset code stays valid once issued.
RESET_CODE_TTL = timedelta(hours=72)
#: Crockford's base32 alphabet: no I, L, O, U (nothing to confuse when read aloud or typed).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = {"O": "0", "I": "1", "L": "1"}
#: Shortest password a household may set.
MIN_PASSWORD_LENGTH = 10
#: An argon2 "hash" no password verifies against: accounts that sign in only through OpenID.
NO_PASSWORD = "!no-password"  # noqa: S105 (a marker that is not an argon2 hash)


def new_reset_code() -> str:
    """16 Crockford base32 characters (80 random bits), grouped by four."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normalise_code(text: str) -> str:
    """The canonical form of a typed code: upper case, dashes and spaces dropped then put back,
    ``O``/``I``/``L`` read as digits (Crockford's decoding rules)."""
    raw = "".join(_READ_AS.get(c, c) for c in text.upper() if c not in "- ")
    if len(raw) != 16 or any(c not in _ALPHABET for c in raw):
        return ""
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def check_new_password(password: str, username: str) -> None:
    """Raise :class:`DomainError` (``field="password"``) unless ``password`` is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"A password has at least {MIN_PASSWORD_LENGTH} characters.",
                          field="password", reason="too_short")
    if len(password) > 1024:
        raise DomainError("A password has at most 1024 characters.", field="password",
                          reason="too_long")
    if password.casefold() == username.casefold():
        raise DomainError("The password cannot be the username.", field="password",
                          reason="is_username")


async def issue_reset_code(session: AsyncSession, account: Account, now: datetime, *,
                           issued_by: str) -> str:
    """A fresh reset code for ``account``; earlier unused codes stop working."""
    await session.exec(update(PasswordReset)
                       .where(col(PasswordReset.account_id) == account.id,
                              col(PasswordReset.used_at).is_(None))
                       .values(used_at=now))
    code = new_reset_code()
    session.add(PasswordReset(tenant_id=account.tenant_id, account_id=account.id,
                              code_hash=digest(code), issued_by=issued_by[:64], created_at=now,
                              expires_at=now + RESET_CODE_TTL))
    await session.flush()
    return code


async def live_reset(session: AsyncSession, account: Account, code: str,
                     now: datetime) -> PasswordReset | None:
    """The unused, unexpired reset row of ``account`` matching ``code`` (typed form), if any."""
    canonical = normalise_code(code)
    if not canonical:
        return None
    result = await session.exec(select(PasswordReset).where(
        PasswordReset.account_id == account.id, PasswordReset.code_hash == digest(canonical),
        col(PasswordReset.used_at).is_(None), col(PasswordReset.expires_at) > now))
    return result.first()


async def complete_reset(session: AsyncSession, account: Account, reset: PasswordReset,
                         password: str, now: datetime) -> bool:
    """Use ``reset`` and set the new password; ``False`` if the code was used meanwhile (a
    race: nothing changes). Every session of the account ends."""
    used = await session.exec(update(PasswordReset)
                              .where(col(PasswordReset.id) == reset.id,
                                     col(PasswordReset.used_at).is_(None))
                              .values(used_at=now))
    if used.rowcount != 1:
        return False
    await set_password(session, account, password, now)
    return True


async def set_password(session: AsyncSession, account: Account, password: str,
                       now: datetime) -> None:
    """Store a new argon2id hash and end every session of the account (a changed password
    must lock out whoever knew the old one)."""
    check_new_password(password, account.username)
    account.password_hash = await hash_password_async(password)
    account.password_changed_at = now
    session.add(account)
    await end_all_sessions(session, account.id, now)


async def set_first_password(session: AsyncSession, account: Account, password: str,
                             now: datetime) -> None:
    """Give ``account``, which has no password, its first one (argon2id, the policy of
    :func:`check_new_password`) and end every session of the account, like
    :func:`set_password`. :class:`Conflict` (``reason="has_password"``) if it has one by now (a
    second tab chose one first): then the current password is asked, like any change. The
    write is conditional (``UPDATE ... WHERE password_hash = NO_PASSWORD``), so of two first
    passwords at once only one is set, on both backends."""
    check_new_password(password, account.username)
    hashed = await hash_password_async(password)
    chosen = await session.exec(update(Account).where(
        col(Account.id) == account.id, col(Account.password_hash) == NO_PASSWORD,
    ).values(password_hash=hashed, password_changed_at=now))
    if chosen.rowcount != 1:
        raise Conflict("This account has a password: type it to change it.", field="current",
                       reason="has_password")
    await end_all_sessions(session, account.id, now)


async def end_all_sessions(session: AsyncSession, account_id: str, now: datetime, *,
                           keep: str | None = None) -> int:
    """End every live browser session of the account ("sign out everywhere") but the one of
    cookie ``keep``, if given; how many."""
    statement = update(BrowserSession).where(col(BrowserSession.account_id) == account_id,
                                             col(BrowserSession.revoked_at).is_(None))
    if keep is not None:
        statement = statement.where(col(BrowserSession.token_hash) != digest(keep))
    result = await session.exec(statement.values(revoked_at=now))
    return int(result.rowcount)


async def household_account(session: AsyncSession, tenant_id: str, party_id: str,
                            now: datetime) -> Account:
    """The household login of ``party_id``; one without a password is made if it has none (a
    household the operator registered without a login, who signs in through OpenID only)."""
    accounts = (await session.exec(select(Account).where(
        Account.tenant_id == tenant_id, Account.party_id == party_id))).all()
    for account in accounts:
        if account.has_role(AccountRole.HOUSEHOLD):
            return account
    account = Account(tenant_id=tenant_id, username=f"oidc-{new_id()[:13]}",
                      password_hash=NO_PASSWORD, party_id=party_id,
                      roles=[AccountRole.HOUSEHOLD.value], created_at=now)
    session.add(account)
    await session.flush()
    return account


async def way_in(session: AsyncSession, tenant_id: str, party_id: str,
                  now: datetime) -> Account | None:
    """An account of ``party_id`` that someone can already sign into, if any: it has a
    password, a linked external identity, or a live reset code (the operator handed it to
    someone). A disabled one counts too: it belongs to someone (disabled after a suspected
    takeover, say), and a stranger's identity must not reach the household through a fresh
    account meanwhile. ``None`` for a household registered on paper that never had a login:
    the meter number alone may then link an identity to it (R15)."""
    accounts = list((await session.exec(select(Account).where(
        Account.tenant_id == tenant_id, Account.party_id == party_id))).all())
    ids = [account.id for account in accounts]
    linked = set((await session.exec(select(ExternalIdentity.account_id).where(
        col(ExternalIdentity.account_id).in_(ids)))).all())
    resettable = set((await session.exec(select(PasswordReset.account_id).where(
        col(PasswordReset.account_id).in_(ids), col(PasswordReset.used_at).is_(None),
        col(PasswordReset.expires_at) > now))).all())
    for account in accounts:
        if (account.password_hash != NO_PASSWORD or account.id in linked
                or account.id in resettable):
            return account
    return None

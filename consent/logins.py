"""Password sign-in of local accounts, without leaking which usernames exist.

:func:`check_password` always costs one argon2id verification: an unknown username is checked
against a throw-away hash made with the current parameters, so timing does not tell an unknown
account from a wrong password. It is CPU-heavy and synchronous: the HTTP edge runs it in a
thread (never on the event loop).
"""

from __future__ import annotations

from functools import lru_cache

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent import accounts
from consent.models import DEFAULT_TENANT, Account

#: Longest username accepted (the column holds 150).
MAX_USERNAME_LENGTH = 150


async def find_account(session: AsyncSession, username: str,
                       tenant_id: str = DEFAULT_TENANT) -> Account | None:
    """The account ``username`` of ``tenant_id`` (exact match), or ``None``."""
    if not username or len(username) > MAX_USERNAME_LENGTH:
        return None
    result = await session.exec(select(Account).where(Account.tenant_id == tenant_id,
                                                      Account.username == username))
    return result.first()


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return accounts.hash_password("passerelle decoy password, never valid")


def check_password(account: Account | None, password: str) -> bool:
    """True if ``account`` exists, is enabled and ``password`` is its password (slow: argon2)."""
    if account is None:
        accounts.verify_password(_decoy_hash(), password)
        return False
    valid = accounts.verify_password(account.password_hash, password)
    return valid and not account.disabled

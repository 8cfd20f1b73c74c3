"""Password hashing for local accounts: argon2id through argon2-cffi (RFC 9106).

The parameters are argon2-cffi's defaults (RFC 9106 "low memory" profile: t=3, m=64 MiB, p=4)
unless :func:`configure` is told otherwise; :func:`needs_rehash` tells a login handler when a
stored hash was made with older parameters, so it can re-hash the password it just verified.
A hash never leaves the server and is never logged.

Hashing costs tens of milliseconds of CPU on purpose: async code calls the ``*_async``
variants, which run it in a worker thread instead of blocking the event loop.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(type=Type.ID)

#: Longest password accepted; longer input is refused before hashing (denial-of-service guard).
MAX_PASSWORD_LENGTH = 1024


def configure(hasher: PasswordHasher) -> None:
    """Use ``hasher`` from now on (an operator with stronger machines raises the cost)."""
    global _hasher
    if hasher.type is not Type.ID:
        raise ValueError("Passerelle hashes passwords with argon2id only")
    _hasher = hasher


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string, salt included) of ``password``."""
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password has 1 to {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True if ``password`` matches ``stored_hash``; False on mismatch or a malformed hash."""
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True if ``stored_hash`` was made with other parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


async def hash_password_async(password: str) -> str:
    """:func:`hash_password` in a worker thread."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(stored_hash: str, password: str) -> bool:
    """:func:`verify_password` in a worker thread."""
    return await asyncio.to_thread(verify_password, stored_hash, password)

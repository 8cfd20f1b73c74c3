"""Password hashes (argon2id) and client-secret hashes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher, Type

from consent import accounts
from consent.client_secrets import (
    hash_client_secret,
    new_client_id,
    new_client_secret,
    verify_client_secret,
)


def test_argon2id_round_trip_and_rejections() -> None:
    stored = accounts.hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert accounts.verify_password(stored, "correct horse")
    assert not accounts.verify_password(stored, "correct horsE")
    assert not accounts.verify_password("not a hash", "correct horse")
    assert not accounts.verify_password(stored, "")
    assert not accounts.needs_rehash(stored)
    with pytest.raises(ValueError, match="characters"):
        accounts.hash_password("x" * (accounts.MAX_PASSWORD_LENGTH + 1))


@pytest.fixture
def production_hasher() -> Iterator[None]:
    """The library's default cost, whatever a test package configured for the session (the
    OAuth tests' cheap hasher made this module's result depend on the order of the run)."""
    previous = accounts._hasher
    accounts.configure(PasswordHasher(type=Type.ID))
    yield
    accounts.configure(previous)


@pytest.mark.usefixtures("production_hasher")
def test_a_hash_made_with_weaker_parameters_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    stored = weak.hash("pw")
    assert accounts.verify_password(stored, "pw")
    assert accounts.needs_rehash(stored)
    assert accounts.needs_rehash("garbage")


def test_only_argon2id_may_be_configured() -> None:
    with pytest.raises(ValueError, match="argon2id"):
        accounts.configure(PasswordHasher(type=Type.I))


async def test_async_variants_agree() -> None:
    stored = await accounts.hash_password_async("pw")
    assert await accounts.verify_password_async(stored, "pw")
    assert not await accounts.verify_password_async(stored, "pW")


def test_client_secrets() -> None:
    secret = new_client_secret()
    assert len(secret) >= 43
    assert secret != new_client_secret()
    assert new_client_id().startswith("pc_")
    stored = hash_client_secret(secret)
    assert secret not in stored
    assert verify_client_secret(stored, secret)
    assert not verify_client_secret(stored, secret + "x")
    assert not verify_client_secret("plain", "plain")

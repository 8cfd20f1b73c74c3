"""The KeyStore contract, run against every implementation, plus the keyring that seals keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from consent.clock import FrozenClock
from consent.evidence.errors import EvidenceUnavailable
from consent.evidence.keys import KeyHistory, PublicKeyInfo
from consent.evidence.keystore import MAX_SKEW, KeyStore, MemoryKeyStore
from consent.evidence.keystore_db import DatabaseKeyStore
from consent.evidence.secrets import Keyring, kek_id_of, new_key_line
from consent.evidence.tables import SigningKeyRow
from consent.storage.database import Database
from tests.evidence.conftest import fresh_database_url


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, clock: FrozenClock, keyring: Keyring,
                tmp_path: Path) -> AsyncIterator[KeyStore]:
    if request.param == "memory":
        yield MemoryKeyStore(clock=clock)
        return
    async with fresh_database_url(request.param, request, tmp_path) as url:
        db = Database.from_url(url)
        try:
            yield DatabaseKeyStore(db, keyring, clock=clock)
        finally:
            await db.dispose()


async def test_signatures_verify_with_the_published_key(store: KeyStore,
                                                         clock: FrozenClock) -> None:
    assert isinstance(store, KeyStore)
    sig = await store.sign(b"hello", at=clock.now())
    history = await store.history()
    key = history.get(sig.kid)
    assert key is not None
    assert key.verify(b"hello", sig.value)
    assert not key.verify(b"hellO", sig.value)
    assert key.valid_at(clock.now())
    assert key.not_after is None


async def test_rotation_keeps_old_keys_published_with_closed_periods(
        store: KeyStore, clock: FrozenClock) -> None:
    first = await store.sign(b"a", at=clock.now())
    clock.advance(timedelta(hours=1))
    new = await store.rotate(at=clock.now())
    second = await store.sign(b"b", at=clock.now())
    assert second.kid == new.kid != first.kid
    history = await store.history()
    assert [k.kid for k in history.keys] == [first.kid, new.kid]
    old = history.get(first.kid)
    assert old is not None
    assert old.not_after == clock.now() == new.not_before
    assert history.overlaps() == []
    assert old.verify(b"a", first.value)
    # A moment before the rotation is still the old key's: exactly one key per instant.
    earlier = await store.sign(b"c", at=clock.now() - timedelta(seconds=1))
    assert earlier.kid == first.kid


async def test_backdating_beyond_the_skew_is_refused(store: KeyStore,
                                                     clock: FrozenClock) -> None:
    with pytest.raises(EvidenceUnavailable, match="away from now"):
        await store.sign(b"x", at=clock.now() - timedelta(hours=1))
    await store.sign(b"x", at=clock.now())
    await store.rotate(at=clock.now())
    with pytest.raises(EvidenceUnavailable, match="later than"):
        await store.rotate(at=clock.now())


async def test_the_first_key_covers_every_instant_a_signer_may_sign_at(
        store: KeyStore, clock: FrozenClock) -> None:
    """It opens ``MAX_SKEW`` before the instant that opened it: a replica that lost the race
    to open it signs at its own, slightly earlier, instant with the winner's key."""
    first = await store.sign(b"x", at=clock.now())
    assert (await store.sign(b"y", at=clock.now() - MAX_SKEW)).kid == first.kid
    assert [k.not_before for k in (await store.history()).keys] == [clock.now() - MAX_SKEW]


async def test_database_keys_are_sealed_at_rest(db: Database, clock: FrozenClock,
                                                keyring: Keyring) -> None:
    store = DatabaseKeyStore(db, keyring, clock=clock)
    sig = await store.sign(b"m", at=clock.now())
    async with db.session() as session:
        row = await session.get(SigningKeyRow, sig.kid)
    assert row is not None
    assert row.kek_id == keyring.current
    assert len(row.sealed_private_key) == 12 + 32 + 16
    # Another replica (fresh cache) unseals the same key and signs the same bytes.
    replica = DatabaseKeyStore(db, keyring, clock=clock)
    assert (await replica.sign(b"m", at=clock.now())) == sig
    # Without the right key-encryption key, nothing can be signed.
    stranger = DatabaseKeyStore(db, Keyring([b"\x01" * 32]), clock=clock)
    with pytest.raises(EvidenceUnavailable, match="lacks"):
        await stranger.sign(b"m", at=clock.now())


async def test_two_replicas_opening_the_first_key_agree(db: Database, clock: FrozenClock,
                                                        keyring: Keyring) -> None:
    a, b = DatabaseKeyStore(db, keyring, clock=clock), DatabaseKeyStore(db, keyring, clock=clock)
    sa, sb = await a.sign(b"1", at=clock.now()), await b.sign(b"1", at=clock.now())
    assert sa.kid == sb.kid
    assert len(await a.history()) == 1


def test_keyring_from_environment_creates_a_private_file(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSERELLE_EVIDENCE_KEYS", raising=False)
    path = tmp_path / "secrets" / "evidence.keys"
    ring = Keyring.from_environment(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Keyring.from_environment(path).current == ring.current
    sealed = ring.seal("blob", b"secret", b"doc-1")
    assert ring.open("blob", sealed, b"doc-1") == b"secret"
    for purpose, aad in (("signing-key", b"doc-1"), ("blob", b"doc-2")):
        with pytest.raises(EvidenceUnavailable, match="does not authenticate"):
            ring.open(purpose, sealed, aad)
    assert "secret" not in repr(ring)
    assert ring.current in repr(ring)


def test_keyring_rotation_keeps_older_keys_for_opening(monkeypatch: pytest.MonkeyPatch) -> None:
    old_line = new_key_line()
    old = Keyring.parse(old_line)
    sealed = old.seal("blob", b"x", b"")
    new_line = new_key_line()
    monkeypatch.setenv("PASSERELLE_EVIDENCE_KEYS", old_line.strip() + "," + new_line.strip())
    both = Keyring.from_environment(Path("/nonexistent"))
    assert both.current != old.current
    assert both.open("blob", sealed, b"") == b"x"
    assert kek_id_of(bytes(32)).startswith("kek-")
    with pytest.raises(EvidenceUnavailable, match="not base64"):
        Keyring.parse("not base64!\n")


def test_key_history_json_round_trip(clock: FrozenClock) -> None:
    key = PublicKeyInfo(bytes(range(32)), clock.now())
    data = key.to_json("passerelle.test/log")
    assert PublicKeyInfo.from_json(data) == key
    assert data["note_key"].startswith("passerelle.test/log+")
    assert KeyHistory([key]).valid_at(clock.now()) == key

"""A :class:`~consent.evidence.keystore.KeyStore` in the database, private keys sealed at rest.

Each private key is the raw 32-byte Ed25519 seed sealed with the evidence keyring (AES-256-GCM,
purpose ``signing-key``, associated data = the key id), so a database dump alone reveals no key
and a sealed key cannot be moved onto another key's row. Replicas share the keys through the
table; a rotation locks the current key's row before reading it
(:func:`~consent.storage.row_lock.read_for_update`), and the unique ``current`` column lets
only one of two racing rotations win.

Signing and rotation agree on PostgreSQL through one advisory lock (:data:`SIGNING_KEYS_LOCK`,
transaction-scoped, in memory: no row is written, so the consent transactions that sign pay
one round trip more and no WAL flush): a signer holds it *shared* while it reads the history
and picks the key valid at its instant; a rotation holds it *exclusively* and takes its
instant only then. A signer's instant was taken before it asked for the lock, so every record
signed with the old key is earlier than the instant that closes it; a signer that asked while
a rotation held the lock reads the committed rotation. (Before, a replica that read the history
between a rotation's instant and its commit signed with a key already closed at its instant: a
record that fails verification for ever.) What is left: a signer whose clock runs ahead of the
rotating replica's by more than the few milliseconds between its signature and the rotation's
instant; and SQLite, where signers take no lock (one process; a rotation there is an operator's
rare action).

The first key opens ``max_skew`` before the instant that opened it (the margin
:func:`~consent.evidence.keystore.check_signing_instant` allows a signer): a replica that lost
the race to open it, at an instant a little earlier than the winner's, signs with the winner's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.clock import Clock, SystemClock
from consent.evidence.canonical import format_instant, parse_instant
from consent.evidence.errors import EvidenceUnavailable
from consent.evidence.keys import ALGORITHM, KeyHistory, PublicKeyInfo, Signature, kid_of
from consent.evidence.keystore import (
    MAX_SKEW,
    check_rotation,
    check_signing_instant,
    key_for,
    public_bytes,
)
from consent.evidence.secrets import Keyring, Sealed
from consent.evidence.tables import SigningKeyRow
from consent.storage.database import Database
from consent.storage.row_lock import read_for_update

#: The keyring purpose signing keys are sealed for (its own derived key, :mod:`.secrets`).
PURPOSE = "signing-key"
_KEYS = SigningKeyRow.__table__  # type: ignore[attr-defined]
#: Key of the PostgreSQL advisory lock between signers (shared) and rotations (exclusive): any
#: constant of our own (``passkeys``), distinct from the migration lock's.
SIGNING_KEYS_LOCK = 0x706173736B657973


class DatabaseKeyStore:
    """Signing keys in ``evidence_signing_key``; decrypted keys are cached per process."""

    def __init__(self, db: Database, keyring: Keyring, *, clock: Clock | None = None,
                 max_skew: timedelta = MAX_SKEW) -> None:
        self._db = db
        self._keyring = keyring
        self._clock = clock or SystemClock()
        self._max_skew = max_skew
        self._private: dict[str, Ed25519PrivateKey] = {}

    async def history(self) -> KeyHistory:
        async with self._db.engine.connect() as conn:
            return await _read_history(conn)

    async def sign(self, message: bytes, *, at: datetime) -> Signature:
        check_signing_instant(at, self._clock, self._max_skew)
        for _attempt in range(2):  # the second one finds the first key, ours or another's
            async with self._db.engine.connect() as conn:  # rolled back: the lock goes
                await _lock(conn, shared=True)
                history = await _read_history(conn)
                if history.keys:
                    key = key_for(history, at)
                    private = self._private.get(key.kid) or await self._unseal(conn, key.kid)
                    return Signature(key.kid, private.sign(message))
            await self._open_first(at)
        raise EvidenceUnavailable("No signing key could be opened.")

    async def rotate(self, *, at: datetime) -> PublicKeyInfo:
        """Close the current key and open a new one at ``at``, or later: at this store's clock
        once no signer holds the key (see the module docstring); the new key tells when."""
        check_signing_instant(at, self._clock, self._max_skew)
        try:
            async with self._db.engine.begin() as conn:
                await _lock(conn, shared=False)
                current = (await read_for_update(conn, select(
                    _KEYS.c.kid, _KEYS.c.not_before).where(_KEYS.c.current.is_(True)))).first()
                at = max(at, self._clock.now())  # after every signer that chose the old key
                if current is not None:
                    check_rotation(parse_instant(current.not_before), at)
                    await conn.execute(update(_KEYS).where(_KEYS.c.kid == current.kid)
                                       .values(not_after=format_instant(at), current=None))
                return await self._insert(conn, at)
        except IntegrityError:
            raise EvidenceUnavailable(
                "Another replica rotated the signing key at the same time; retry.") from None

    async def _open_first(self, at: datetime) -> None:
        try:
            async with self._db.engine.begin() as conn:
                await _lock(conn, shared=False)  # a replica opening it too waits, then reads it
                if (await read_for_update(conn, select(_KEYS.c.kid).limit(1))).first() is None:
                    await self._insert(conn, at - self._max_skew)
        except IntegrityError:
            pass  # SQLite: another connection of this process opened it first; use it

    async def _insert(self, conn: AsyncConnection, at: datetime) -> PublicKeyInfo:
        private = Ed25519PrivateKey.generate()
        key = PublicKeyInfo(public_bytes(private), at)
        seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        sealed = self._keyring.seal(PURPOSE, seed, key.kid.encode())
        await conn.execute(_KEYS.insert().values(
            kid=key.kid, algorithm=ALGORITHM, public_key=key.public_key,
            sealed_private_key=sealed.blob, kek_id=sealed.kek_id,
            not_before=format_instant(at), not_after=None, current=True))
        self._private[key.kid] = private
        return key

    async def _unseal(self, conn: AsyncConnection, kid: str) -> Ed25519PrivateKey:
        row = (await conn.execute(select(_KEYS.c.sealed_private_key, _KEYS.c.kek_id)
                                  .where(_KEYS.c.kid == kid))).one()
        seed = self._keyring.open(PURPOSE, Sealed(row.kek_id, row.sealed_private_key),
                                  kid.encode())
        private = Ed25519PrivateKey.from_private_bytes(seed)
        if kid_of(public_bytes(private)) != kid:
            raise EvidenceUnavailable(f"The sealed key of {kid} is not that key.")
        self._private[kid] = private
        return private


async def _lock(conn: AsyncConnection, *, shared: bool) -> None:
    """Take :data:`SIGNING_KEYS_LOCK` until ``conn``'s transaction ends (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        await conn.execute(text(f"SELECT {function}(:key)"), {"key": SIGNING_KEYS_LOCK})


async def _read_history(conn: AsyncConnection) -> KeyHistory:
    rows = (await conn.execute(select(_KEYS.c.public_key, _KEYS.c.not_before,
                                      _KEYS.c.not_after))).all()
    return KeyHistory(
        PublicKeyInfo(row.public_key, parse_instant(row.not_before),
                      None if row.not_after is None else parse_instant(row.not_after))
        for row in rows)

"""The operator's signing keys as an extension point (:class:`KeyStore`), and an in-memory one.

A key store signs with the key valid at the signing instant, publishes every public key it ever
used with its validity period, and rotates: the current key closes at the instant the new key
opens; old public keys stay published, so old signatures keep verifying. Private keys never
leave the store. Implementations: :class:`MemoryKeyStore` (tests, demos) and
:class:`consent.evidence.keystore_db.DatabaseKeyStore` (private keys sealed with the evidence
keyring); a KMS or HSM store implements the same three methods.

The signing instant must be close to the store's clock (``max_skew``), so nobody can backdate a
signature into a retired key's period.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consent.clock import Clock, SystemClock
from consent.evidence.errors import EvidenceUnavailable, SigningInstantRefused
from consent.evidence.keys import KeyHistory, PublicKeyInfo, Signature

MAX_SKEW = timedelta(minutes=5)


@runtime_checkable
class KeyStore(Protocol):
    """Signs with the operator's Ed25519 key and publishes the key history."""

    async def sign(self, message: bytes, *, at: datetime) -> Signature:
        """Sign ``message`` with the key valid at ``at`` (creating the first key if none,
        valid from ``max_skew`` before ``at``: the earliest instant a signer may sign at)."""
        ...

    async def history(self) -> KeyHistory:
        """Every public key ever used, with validity periods; never a private key."""
        ...

    async def rotate(self, *, at: datetime) -> PublicKeyInfo:
        """Close the current key at ``at`` and open a new one from then; return the new one.
        A store shared by replicas may take a later instant, once no signer can still choose
        the old key; the new key's ``not_before`` is the instant taken."""
        ...


def public_bytes(private: Ed25519PrivateKey) -> bytes:
    """Raw 32-byte public key of ``private``."""
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def check_signing_instant(at: datetime, clock: Clock, max_skew: timedelta) -> None:
    """Refuse naive instants and instants too far from the store's clock."""
    if at.tzinfo is None:
        raise EvidenceUnavailable("A signing instant needs a timezone.")
    if abs(at - clock.now()) > max_skew:
        raise SigningInstantRefused(
            f"Refusing to sign at {at.isoformat()}: more than {max_skew} away from now.")


def check_rotation(current_since: datetime | None, at: datetime) -> None:
    """A rotation must come after the current key opened (``current_since``)."""
    if current_since is not None and at <= current_since:
        raise EvidenceUnavailable(
            "A key rotation must be later than the opening of the current key.")


def key_for(history: KeyHistory, at: datetime) -> PublicKeyInfo:
    """The key valid at ``at`` or :class:`SigningInstantRefused`, saying when the latest key
    opens if ``at`` is before it (a clock behind the one that opened it)."""
    key = history.valid_at(at)
    if key is not None:
        return key
    latest = history.keys[-1] if history.keys else None
    if latest is not None and at < latest.not_before:
        raise SigningInstantRefused(
            f"No signing key is valid at {at.isoformat()}: the current key opens later, at "
            f"{latest.not_before.isoformat()}.")
    raise SigningInstantRefused(f"No signing key is valid at {at.isoformat()}.")


class MemoryKeyStore:
    """Keys held in process memory only: for tests and throwaway demos."""

    def __init__(self, *, clock: Clock | None = None, max_skew: timedelta = MAX_SKEW) -> None:
        self._clock = clock or SystemClock()
        self._max_skew = max_skew
        self._keys: list[PublicKeyInfo] = []
        self._private: dict[str, Ed25519PrivateKey] = {}

    async def sign(self, message: bytes, *, at: datetime) -> Signature:
        check_signing_instant(at, self._clock, self._max_skew)
        if not self._keys:
            self._open(at - self._max_skew)
        key = key_for(KeyHistory(self._keys), at)
        return Signature(key.kid, self._private[key.kid].sign(message))

    async def history(self) -> KeyHistory:
        return KeyHistory(self._keys)

    async def rotate(self, *, at: datetime) -> PublicKeyInfo:
        check_signing_instant(at, self._clock, self._max_skew)
        check_rotation(self._keys[-1].not_before if self._keys else None, at)
        if self._keys:
            last = self._keys[-1]
            self._keys[-1] = PublicKeyInfo(last.public_key, last.not_before, at)
        return self._open(at)

    def _open(self, at: datetime) -> PublicKeyInfo:
        private = Ed25519PrivateKey.generate()
        key = PublicKeyInfo(public_bytes(private), at)
        self._keys.append(key)
        self._private[key.kid] = private
        return key

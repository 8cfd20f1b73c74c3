"""Public signing keys and their history: what an auditor receives instead of any secret.

Pure (standard library and ``cryptography``): the offline verifier imports this module.

A key id (``kid``) is the lowercase hex SHA-256 of the raw 32-byte Ed25519 public key, so anyone
can recompute it. A key is valid on ``[not_before, not_after)``; rotation closes the current key
at the instant the next one opens, so exactly one key is valid at any instant after the first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consent.evidence.canonical import (
    EncodingError,
    b64decode,
    b64encode,
    format_instant,
    parse_instant,
)
from consent.evidence.notes import NoteKey

ALGORITHM = "Ed25519"


def kid_of(public_key: bytes) -> str:
    """Key id: hex SHA-256 of the raw public key."""
    return hashlib.sha256(public_key).hexdigest()


@dataclass(frozen=True, slots=True)
class Signature:
    """A signature and the id of the key that made it."""

    kid: str
    value: bytes


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """One published Ed25519 public key with its validity period."""

    public_key: bytes
    not_before: datetime
    not_after: datetime | None = None

    @property
    def kid(self) -> str:
        return kid_of(self.public_key)

    def valid_at(self, instant: datetime) -> bool:
        """True if ``not_before <= instant < not_after``."""
        return self.not_before <= instant and (self.not_after is None or instant < self.not_after)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def note_key(self, origin: str) -> NoteKey:
        """This key as a signed-note verifier named ``origin``."""
        return NoteKey(origin, self.public_key)

    def to_json(self, origin: str) -> dict[str, Any]:
        """The ``keys.json`` entry of this key (see docs/evidence-format.md)."""
        return {
            "kid": self.kid,
            "alg": ALGORITHM,
            "public_key": b64encode(self.public_key),
            "note_key": self.note_key(origin).verifier_key,
            "not_before": format_instant(self.not_before),
            "not_after": None if self.not_after is None else format_instant(self.not_after),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublicKeyInfo:
        """Parse a ``keys.json`` entry; its ``kid`` must be the hash of its public key."""
        if data.get("alg") != ALGORITHM:
            raise EncodingError(f"unsupported key algorithm {data.get('alg')!r}")
        key = cls(
            b64decode(str(data.get("public_key")), length=32),
            parse_instant(str(data.get("not_before"))),
            None if data.get("not_after") is None else parse_instant(str(data["not_after"])),
        )
        if key.kid != data.get("kid"):
            raise EncodingError(f"key id {data.get('kid')!r} is not the hash of its public key")
        return key


class KeyHistory:
    """Every public key a signer ever used, looked up by ``kid``."""

    def __init__(self, keys: Iterable[PublicKeyInfo]) -> None:
        self.keys = sorted(keys, key=lambda k: k.not_before)
        self._by_kid = {key.kid: key for key in self.keys}

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, kid: str) -> PublicKeyInfo | None:
        return self._by_kid.get(kid)

    def valid_at(self, instant: datetime) -> PublicKeyInfo | None:
        """The key valid at ``instant``, if any."""
        return next((key for key in self.keys if key.valid_at(instant)), None)

    def overlaps(self) -> list[tuple[str, str]]:
        """Pairs of keys whose validity periods overlap (a sound history has none)."""
        pairs = []
        for before, after in zip(self.keys, self.keys[1:], strict=False):
            if before.not_after is None or before.not_after > after.not_before:
                pairs.append((before.kid, after.kid))
        return pairs

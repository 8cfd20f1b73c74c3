"""Key-encryption keys: what protects signing keys and proof documents at rest (R22).

A :class:`Keyring` holds 256-bit secrets, read from ``$PASSERELLE_EVIDENCE_KEYS`` or from a
secret file (one base64 key per line, ``#`` comments; the last key is the current one, earlier
ones stay to decrypt older data). Each key is named by ``kek-`` + the first 8 hex digits of its
SHA-256, so the file needs no names. Every use derives its own AES-256-GCM key with HKDF-SHA256
(``info`` = the purpose), so a signing-key wrap can never be opened as a document and vice versa.

Sealed data is ``nonce (12 bytes) || ciphertext || tag``; callers bind it to its owner with the
associated data (the key id, the document id). A KMS or HSM can replace this class later: its
callers only use :meth:`seal` and :meth:`open`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from consent.evidence.errors import EvidenceUnavailable, KeyringCannotOpen
from consent.secret_files import read_or_create

ENV_VAR = "PASSERELLE_EVIDENCE_KEYS"
_NONCE = 12


@dataclass(frozen=True, slots=True)
class Sealed:
    """Encrypted bytes and the name of the key-encryption key that sealed them."""

    kek_id: str
    blob: bytes


def kek_id_of(key: bytes) -> str:
    """Public name of a key-encryption key."""
    return "kek-" + hashlib.sha256(key).hexdigest()[:8]


class Keyring:
    """Key-encryption keys; the current one seals, any of them opens."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise EvidenceUnavailable("The evidence keyring holds no key.")
        if any(len(k) != 32 for k in keys):
            raise EvidenceUnavailable("Evidence keyring keys must be 32 bytes.")
        self._keys: Mapping[str, bytes] = {kek_id_of(k): k for k in keys}
        self.current = kek_id_of(keys[-1])
        self._derived: dict[tuple[str, str], AESGCM] = {}

    def __repr__(self) -> str:
        return f"Keyring(current={self.current!r}, keys={len(self._keys)})"

    def __contains__(self, kek_id: object) -> bool:
        """Whether the key named ``kek_id`` is in the ring."""
        return kek_id in self._keys

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Keys from secret-file text: one base64 key per line."""
        keys = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                keys.append(base64.b64decode(line, validate=True))
            except binascii.Error:
                raise EvidenceUnavailable(
                    f"Evidence keyring line {number} is not base64.") from None
        return cls(keys)

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read a secret file."""
        try:
            return cls.parse(path.read_text(encoding="ascii"))
        except OSError as exc:
            raise EvidenceUnavailable(
                f"Cannot read the evidence keyring {path}: {exc.strerror}.") from None

    @classmethod
    def from_environment(cls, path: Path, *, create: bool = True) -> Keyring:
        """``$PASSERELLE_EVIDENCE_KEYS`` if set, else the secret file at ``path``, created
        (mode 0600) with one fresh key if it does not exist yet and ``create`` is true (a tool
        that must open existing data passes ``False``: a fresh key would open nothing)."""
        text = os.environ.get(ENV_VAR)
        if text:
            return cls.parse(text.replace(",", "\n"))
        if not path.exists() and not create:
            raise EvidenceUnavailable(
                f"No evidence keys: set {ENV_VAR} (or {ENV_VAR}_FILE) to the instance's keys, "
                f"or put them in {path}.")
        if not path.exists():
            read_or_create(path, lambda: (
                "# Passerelle evidence keys (base64); the last one is current.\n"
                + new_key_line()).encode("ascii"))
        return cls.load(path)

    def _aead(self, kek_id: str, purpose: str) -> AESGCM:
        cached = self._derived.get((kek_id, purpose))
        if cached is None:
            key = self._keys.get(kek_id)
            if key is None:
                raise KeyringCannotOpen(f"The evidence keyring lacks {kek_id}.")
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                           info=b"passerelle/evidence/" + purpose.encode()).derive(key)
            cached = self._derived[(kek_id, purpose)] = AESGCM(derived)
        return cached

    def seal(self, purpose: str, plaintext: bytes, aad: bytes) -> Sealed:
        """Encrypt ``plaintext`` with the current key for ``purpose``, bound to ``aad``."""
        nonce = secrets.token_bytes(_NONCE)
        blob = nonce + self._aead(self.current, purpose).encrypt(nonce, plaintext, aad)
        return Sealed(self.current, blob)

    def open(self, purpose: str, sealed: Sealed, aad: bytes) -> bytes:
        """Decrypt; a wrong key, purpose, ``aad`` or a changed byte raises."""
        nonce, body = sealed.blob[:_NONCE], sealed.blob[_NONCE:]
        try:
            return self._aead(sealed.kek_id, purpose).decrypt(nonce, body, aad)
        except InvalidTag:
            raise KeyringCannotOpen(
                "Encrypted evidence does not authenticate (wrong key or altered data).") from None


def new_key_line() -> str:
    """A fresh key as a secret-file line."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n"

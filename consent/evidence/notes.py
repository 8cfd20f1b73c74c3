"""C2SP signed notes with Ed25519 signatures, and C2SP tlog checkpoints.

Pure (standard library and ``cryptography``): the offline verifier imports this module.

Signed note (c2sp.org/signed-note): the text (ending in a newline), a blank line, then one line
per signature: ``— <key name> <base64(key ID || signature)>``. For Ed25519 (signature type
``0x01``) the key ID is ``SHA-256(key name || 0x0A || 0x01 || public key)[:4]`` and the
signature is RFC 8032 Ed25519 over the note text. A verifier key is written
``<name>+<hex key ID>+<base64(0x01 || public key)>`` (the ``golang.org/x/mod/sumdb/note`` form).

Checkpoint (c2sp.org/tlog-checkpoint): a note whose text is the log origin, the tree size in
decimal and the base64 root hash, one per line; Passerelle writes no extension lines.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consent.evidence.canonical import EncodingError, b64decode, b64encode
from consent.evidence.merkle import HASH_SIZE

ED25519 = 0x01
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_MAX_SIGNATURES = 16


class NoteError(ValueError):
    """A note or checkpoint is malformed or its signature does not verify."""


@dataclass(frozen=True, slots=True)
class NoteKey:
    """An Ed25519 note verifier: key name and 32-byte public key."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key has 32 bytes")

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID of the signed-note spec."""
        material = self.name.encode() + b"\n" + bytes([ED25519]) + self.public_key
        return hashlib.sha256(material).digest()[:4]

    @property
    def verifier_key(self) -> str:
        """``name+hexid+base64(0x01 || key)``."""
        return f"{self.name}+{self.key_id.hex()}+{b64encode(bytes([ED25519]) + self.public_key)}"

    @classmethod
    def parse(cls, text: str) -> NoteKey:
        """Parse a verifier key string; its embedded key ID must match."""
        name, sep, rest = text.partition("+")
        hex_id, sep2, material = rest.partition("+")
        if not (sep and sep2):
            raise NoteError(f"not a verifier key: {text!r:.80}")
        try:
            raw = b64decode(material)
        except EncodingError as exc:
            raise NoteError(f"verifier key material is not base64: {exc}") from exc
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("verifier key is not an Ed25519 note key")
        key = cls(name, raw[1:])
        if key.key_id.hex() != hex_id:
            raise NoteError("verifier key ID does not match its name and public key")
        return key

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True if ``signature`` is this key's Ed25519 signature of ``text``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


def check_key_name(name: str) -> None:
    """Key names are non-empty, without Unicode spaces or ``+`` (signed-note §Format)."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"invalid note key name {name!r}")


def signature_line(key: NoteKey, signature: bytes) -> str:
    """One note signature line, newline included."""
    return f"{_SIGNATURE_PREFIX}{key.name} {b64encode(key.key_id + signature)}\n"


def assemble(text: str, lines: Iterable[str]) -> str:
    """A signed note from its text and signature lines."""
    _check_text(text)
    return text + "\n" + "".join(lines)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ch < " " and ch != "\n" for ch in text):
        raise NoteError("note text holds a control character")


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One parsed signature line."""

    name: str
    key_id: bytes
    signature: bytes


def split(note: str) -> tuple[str, list[NoteSignature]]:
    """The text and signature lines of ``note``; malformed notes raise :class:`NoteError`."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is text, a blank line and signature lines")
    text, block = note[: cut + 1], note[cut + 2 :]
    _check_text(text)
    signatures = []
    for line in block.splitlines():
        if not line.startswith(_SIGNATURE_PREFIX):
            raise NoteError(f"malformed signature line: {line!r:.80}")
        name, sep, encoded = line[len(_SIGNATURE_PREFIX):].partition(" ")
        if not sep:
            raise NoteError(f"malformed signature line: {line!r:.80}")
        try:
            raw = b64decode(encoded)
        except EncodingError as exc:
            raise NoteError(f"signature of {name!r} is not base64") from exc
        if len(raw) < 5:
            raise NoteError(f"signature of {name!r} is too short")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    if not signatures:
        raise NoteError("note has no signature")
    if len(signatures) > _MAX_SIGNATURES:
        raise NoteError("note has too many signatures")
    return text, signatures


def open_note(note: str, keys: Iterable[NoteKey]) -> tuple[str, list[NoteKey]]:
    """Verify ``note`` against trusted ``keys``; return its text and the keys that signed it.

    Signatures by unknown keys are ignored; a known key's bad signature rejects the note, and
    so does a note without any verified signature (signed-note §Signatures).
    """
    text, signatures = split(note)
    known = {(key.name, key.key_id): key for key in keys}
    signed_by = []
    for sig in signatures:
        key = known.get((sig.name, sig.key_id))
        if key is None:
            continue
        if not key.verify(text.encode(), sig.signature):
            raise NoteError(f"signature by {sig.name} ({sig.key_id.hex()}) does not verify")
        signed_by.append(key)
    if not signed_by:
        raise NoteError("note is not signed by any known key")
    return text, signed_by


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: origin, size and root hash."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        """The checkpoint note text (three lines)."""
        return f"{self.origin}\n{self.size}\n{b64encode(self.root)}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse checkpoint note text (extension lines are refused: Passerelle writes none)."""
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise NoteError("a checkpoint is exactly three lines: origin, size, root hash")
        origin, size_text, root_text = lines[:3]
        if not origin:
            raise NoteError("checkpoint origin is empty")
        if not re.fullmatch(r"0|[1-9][0-9]*", size_text):
            raise NoteError(f"checkpoint size is not a decimal number: {size_text!r:.40}")
        try:
            root = b64decode(root_text, length=HASH_SIZE)
        except EncodingError as exc:
            raise NoteError(f"checkpoint root hash is not a base64 SHA-256: {exc}") from exc
        return cls(origin, int(size_text), root)

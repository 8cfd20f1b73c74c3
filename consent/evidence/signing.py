"""Signed records: ``{"record": {...}, "kid": "<hex>", "sig": "<base64>"}``.

The signature is Ed25519 over the RFC 8785 canonical bytes of ``record``, by the operator key
``kid`` (hex SHA-256 of its public key). ``record.signed_at`` is when it was signed; the key must
be valid then. Canonical JSON always starts with ``{`` and a signed-note text always ends with a
newline, so no record signature can be replayed as a checkpoint signature or the reverse: one key
serves both.

Verification is pure (standard library, ``cryptography``, ``rfc8785``): the offline verifier
uses :func:`verify_envelope`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from consent.evidence.canonical import (
    EncodingError,
    b64decode,
    b64encode,
    canonical,
    format_instant,
    parse_instant,
)
from consent.evidence.keys import KeyHistory

if TYPE_CHECKING:
    from consent.evidence.keystore import KeyStore


class SignatureProblem(ValueError):
    """A signed record is malformed, signed by an unknown key, out of the key's validity, or
    its signature does not verify; the message says which."""


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """A record and its signature."""

    record: Mapping[str, Any]
    kid: str
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {"record": dict(self.record), "kid": self.kid, "sig": b64encode(self.signature)}

    @property
    def signed_at(self) -> datetime:
        return parse_instant(str(self.record["signed_at"]))


async def sign_record(keys: KeyStore, record: Mapping[str, Any], at: datetime) -> SignedRecord:
    """Sign ``record`` (a record's JSON form) at ``at``; ``signed_at`` is added to it."""
    if "signed_at" in record:
        raise ValueError("a record gets its signed_at when it is signed")
    document = {**record, "signed_at": format_instant(at)}
    signature = await keys.sign(canonical(document), at=at)
    return SignedRecord(document, signature.kid, signature.value)


def parse_envelope(data: Any) -> SignedRecord:
    """Parse an envelope's JSON; a malformed one raises :class:`SignatureProblem`."""
    if not isinstance(data, Mapping) or set(data) != {"record", "kid", "sig"}:
        raise SignatureProblem("a signed record has exactly the members record, kid and sig")
    record, kid, sig = data["record"], data["kid"], data["sig"]
    if not isinstance(record, Mapping) or not isinstance(kid, str) or not isinstance(sig, str):
        raise SignatureProblem("record must be an object, kid and sig text")
    try:
        return SignedRecord(record, kid, b64decode(sig, length=64))
    except EncodingError as exc:
        raise SignatureProblem(f"sig is not a base64 Ed25519 signature: {exc}") from exc


def verify_envelope(data: Any, keys: KeyHistory) -> SignedRecord:
    """Check an envelope's signature and that its key was valid at ``signed_at``."""
    envelope = parse_envelope(data)
    key = keys.get(envelope.kid)
    if key is None:
        raise SignatureProblem(f"signed by key {envelope.kid[:16]}..., which is not in the "
                               "key history")
    try:
        signed_at = envelope.signed_at
        message = canonical(envelope.record)
    except (KeyError, EncodingError) as exc:
        raise SignatureProblem(f"record has no usable signed_at or is not JSON: {exc}") from exc
    if not key.verify(message, envelope.signature):
        raise SignatureProblem(f"signature by key {envelope.kid[:16]}... does not verify")
    if not key.valid_at(signed_at):
        raise SignatureProblem(f"key {envelope.kid[:16]}... was not valid at signed_at "
                               f"{format_instant(signed_at)}")
    return envelope

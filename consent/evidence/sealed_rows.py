"""Every table whose rows hold data sealed with the evidence keyring, and how to open one row
and check it is what its row says (:mod:`consent.evidence.reseal` re-seals them, issue 9).

Two tables hold such rows: ``evidence_document`` (proof documents, purpose ``document``, bound
to tenant and id, :mod:`.blobs_db`) and ``evidence_signing_key`` (Ed25519 seeds, purpose
``signing-key``, bound to the key id, :mod:`.keystore_db`). The upstream data cache and the
upstream token are sealed with the separate ``cache_key``, not with this keyring.

Opening a row is stricter than authenticating it: a document's plaintext must also have the
size and SHA-256 its row records (what ``proof_document`` cites), a signing key's seed must give
the row's public key. A row that fails either way is never re-sealed: re-sealing would turn
altered data into data sealed under the current key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Table

from consent.evidence import blobs, keystore_db
from consent.evidence.blobs_db import DOCUMENTS
from consent.evidence.errors import EvidenceUnavailable
from consent.evidence.keystore import public_bytes
from consent.evidence.secrets import Keyring, Sealed
from consent.evidence.tables import SigningKeyRow

Row = Any  # a SQLAlchemy row holding the columns a SealedTable names


class Unopenable(Exception):
    """A row whose sealed data cannot be opened, or is not what the row says; ``reason`` is
    printable (it names no key material nor plaintext)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SealedTable:
    """One table of sealed rows: its primary key column, its sealed column, the keyring purpose,
    the associated data of a row, and the check of an opened plaintext against its row."""

    name: str
    table: Table
    key: str
    sealed: str
    purpose: str
    extra: tuple[str, ...]
    binding: Callable[[Row], bytes]
    check: Callable[[Row, bytes], str | None]

    def columns(self) -> list[Any]:
        """The columns :func:`open_row` needs, key first."""
        c = self.table.c
        return [c[self.key], c.kek_id, c[self.sealed], *(c[name] for name in self.extra)]


def _check_document(row: Row, plaintext: bytes) -> str | None:
    if len(plaintext) != row.size_bytes or hashlib.sha256(plaintext).hexdigest() != row.sha256:
        return "opens, but not to the size and SHA-256 its row records"
    return None


def _check_signing_key(row: Row, plaintext: bytes) -> str | None:
    try:
        private = Ed25519PrivateKey.from_private_bytes(plaintext)
    except ValueError:
        return "opens, but not to an Ed25519 key"
    if public_bytes(private) != row.public_key:
        return "opens, but not to the private key of its public key"
    return None


DOCUMENT_ROWS = SealedTable(
    "documents", DOCUMENTS, "document_id", "sealed", blobs.PURPOSE, ("tenant", "size_bytes",
                                                                     "sha256"),
    binding=lambda row: blobs.binding(row.tenant, row.document_id), check=_check_document)
SIGNING_KEY_ROWS = SealedTable(
    "signing-keys", SigningKeyRow.__table__, "kid", "sealed_private_key",  # type: ignore[attr-defined]
    keystore_db.PURPOSE, ("public_key",), binding=lambda row: row.kid.encode(),
    check=_check_signing_key)
#: Every table sealed with the evidence keyring.
SEALED_TABLES = (DOCUMENT_ROWS, SIGNING_KEY_ROWS)


def open_row(keyring: Keyring, kind: SealedTable, row: Row) -> bytes:
    """The checked plaintext of ``row``; :class:`Unopenable` if the keyring lacks its key, it
    does not authenticate (altered, or moved from another row) or fails its check."""
    if row.kek_id not in keyring:
        raise Unopenable(f"sealed with {row.kek_id}, which the evidence keyring lacks")
    try:
        plaintext = keyring.open(kind.purpose, Sealed(row.kek_id, getattr(row, kind.sealed)),
                                 kind.binding(row))
    except EvidenceUnavailable:
        raise Unopenable("does not authenticate: altered, or moved from another row") from None
    reason = kind.check(row, plaintext)
    if reason is not None:
        raise Unopenable(reason)
    return plaintext

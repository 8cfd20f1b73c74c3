"""Moving proof documents that earlier releases kept as files into the database (issue 9).

Earlier releases sealed each document into ``<root>/<first two characters of its id>/<id>``:
the magic ``PSLB\\x01``, one length byte, the key id, then the AES-256-GCM blob sealed for purpose
``document`` with the document id alone as associated data. :func:`import_files` takes each
file, opens it (one that does not authenticate is refused and reported, never imported), checks
it against its ``proof_document`` row (size and SHA-256) and stores it through
:class:`~consent.evidence.blobs_db.DatabaseBlobStore`, sealed anew and bound to its tenant.

Idempotent: a document already in the database is left alone without its file being read, so
running the import again changes nothing. Files are never deleted: the operator drops the old
volume once a backup of the database holds the documents (docs/operations.md, section 4).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import select

from consent.errors import Conflict
from consent.evidence.blobs import PURPOSE, check_document_id
from consent.evidence.blobs_db import DatabaseBlobStore
from consent.evidence.errors import EvidenceUnavailable, RejectedDocument
from consent.evidence.secrets import Sealed
from consent.evidence.tables import DocumentRow
from consent.models import ProofDocument
from consent.storage.database import Database

#: The header of a document file written by earlier releases.
LEGACY_MAGIC = b"PSLB\x01"


@dataclass
class ImportReport:
    """What an import did, file by file (paths relative to the imported directory)."""

    imported: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def render(self) -> str:
        """One line per refused or skipped file, then the counts."""
        lines = [f"refused  {name}: {why}" for name, why in self.refused]
        lines += [f"skipped  {name}: {why}" for name, why in self.skipped]
        lines.append(f"{len(self.imported)} imported, {len(self.present)} already in the "
                     f"database, {len(self.refused)} refused, {len(self.skipped)} skipped")
        return "\n".join(lines)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


class _Refused(Exception):
    """One file is not imported, for the reason given."""


class _Orphan(Exception):
    """A file no ``proof_document`` row cites: nothing could ever serve it."""


def open_legacy_file(raw: bytes, document_id: str, store: DatabaseBlobStore) -> bytes:
    """The plaintext of a document file of an earlier release; :class:`_Refused` if it is not
    one, was sealed with a key the keyring lacks, or does not authenticate."""
    if not raw.startswith(LEGACY_MAGIC) or len(raw) <= len(LEGACY_MAGIC):
        raise _Refused("not a sealed document file")
    start = len(LEGACY_MAGIC) + 1
    kek_id = raw[start:start + raw[len(LEGACY_MAGIC)]].decode("ascii", "replace")
    if kek_id not in store.keyring:
        raise _Refused(f"sealed with {kek_id}, which the evidence keyring lacks")
    try:
        return store.keyring.open(PURPOSE, Sealed(kek_id, raw[start + len(kek_id):]),
                                  document_id.encode())
    except EvidenceUnavailable:
        raise _Refused("does not authenticate: altered, or copied from another "
                       "document") from None


async def import_files(root: Path, db: Database, store: DatabaseBlobStore) -> ImportReport:
    """Import every document file under ``root`` (see the module docstring)."""
    report = ImportReport()
    for path in await asyncio.to_thread(_files, root):
        name = path.relative_to(root).as_posix()
        if path.name.startswith(".upload-"):
            report.skipped.append((name, "an upload that never completed"))
            continue
        try:
            if await _import_one(path, db, store):
                report.imported.append(name)
            else:
                report.present.append(name)
        except _Refused as refused:
            report.refused.append((name, str(refused)))
        except _Orphan:
            report.skipped.append((name, "no proof_document row cites it (an upload whose "
                                         "metadata was never written); left in place"))
    return report


async def _import_one(path: Path, db: Database, store: DatabaseBlobStore) -> bool:
    """True if imported, False if already in the database."""
    document_id = path.name
    try:
        check_document_id(document_id)
    except RejectedDocument:
        raise _Refused("not a document file name") from None
    if path.parent.name != document_id[:2]:
        raise _Refused(f"not where a document file is kept ({document_id[:2]}/{document_id})")
    async with db.session() as session:
        if (await session.exec(select(DocumentRow.document_id).where(
                DocumentRow.document_id == document_id))).first() is not None:
            return False
        proof = (await session.exec(select(ProofDocument).where(
            ProofDocument.storage_key == document_id))).first()
    if proof is None:
        raise _Orphan
    data = open_legacy_file(await asyncio.to_thread(path.read_bytes), document_id, store)
    if len(data) != proof.size_bytes or hashlib.sha256(data).hexdigest() != proof.sha256:
        raise _Refused(f"differs from proof_document {proof.id} (size or SHA-256)")
    try:
        await store.put(document_id, data, proof.media_type, tenant=proof.tenant_id)
    except RejectedDocument as rejected:
        raise _Refused(f"refused as a document: {rejected.detail}") from None
    except Conflict:
        return False  # imported meanwhile by another run
    return True

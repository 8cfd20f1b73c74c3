"""A :class:`~consent.evidence.blobs.BlobStore` in the database: proof documents sealed in
``evidence_document``, so replicas share nothing but the database and a backup of the database
is a backup of the documents.

Each document is sealed with the evidence keyring (AES-256-GCM, purpose ``document``,
associated data = its tenant and id, :func:`~consent.evidence.blobs.binding`): a database dump
alone reveals no document, and sealed bytes copied onto another row, or a row whose tenant,
id, key id or bytes were edited, fail to open (:class:`DocumentTampered`, never altered bytes).

:meth:`DatabaseBlobStore.put_in` writes in the caller's transaction: the staff API and the
household pages write a proof's bytes and its ``proof_document`` row together, so no document
exists without its metadata, nor the reverse. The column is ``BYTEA`` on PostgreSQL (stored
out of line, uncompressed: ciphertext does not compress) and ``BLOB`` on SQLite.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.clock import Clock, SystemClock
from consent.errors import Conflict, NotFound
from consent.evidence.blobs import (
    MAX_DOCUMENT_SIZE,
    PURPOSE,
    StoredDocument,
    binding,
    check_document_id,
    check_tenant,
    check_upload,
    stored_document,
)
from consent.evidence.canonical import format_instant
from consent.evidence.errors import DocumentTampered, EvidenceUnavailable
from consent.evidence.secrets import Keyring, Sealed
from consent.evidence.tables import DocumentRow
from consent.storage.database import Database

DOCUMENTS = DocumentRow.__table__  # type: ignore[attr-defined]


class DatabaseBlobStore:
    """Sealed documents in ``evidence_document``, one row each."""

    def __init__(self, db: Database, keyring: Keyring, *, max_size: int = MAX_DOCUMENT_SIZE,
                 clock: Clock | None = None) -> None:
        self.db = db
        self.keyring = keyring
        self.max_size = max_size
        self._clock = clock or SystemClock()

    async def put(self, document_id: str, data: bytes, declared_type: str, *,
                  tenant: str) -> StoredDocument:
        async with self.db.engine.begin() as conn:
            return await self.put_in(conn, document_id, data, declared_type, tenant=tenant)

    async def put_in(self, conn: AsyncConnection, document_id: str, data: bytes,
                     declared_type: str, *, tenant: str) -> StoredDocument:
        check_document_id(document_id)
        check_tenant(tenant)
        media_type = check_upload(data, declared_type, max_size=self.max_size)
        stored = stored_document(document_id, data, media_type)
        sealed = self.keyring.seal(PURPOSE, data, binding(tenant, document_id))
        try:
            await conn.execute(DOCUMENTS.insert().values(
                document_id=document_id, tenant=tenant, media_type=media_type,
                size_bytes=stored.size, sha256=stored.sha256, kek_id=sealed.kek_id,
                sealed=sealed.blob, stored_at=format_instant(self._clock.now())))
        except IntegrityError:
            raise Conflict(f"Document {document_id} already exists.") from None
        return stored

    async def get(self, document_id: str, *, tenant: str) -> bytes:
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(
                select(DOCUMENTS.c.tenant, DOCUMENTS.c.kek_id, DOCUMENTS.c.sealed)
                .where(DOCUMENTS.c.document_id == document_id))).first()
        if row is None or row.tenant != tenant:
            raise NotFound(f"No document {document_id}.")
        return self._open(document_id, tenant, row.kek_id, row.sealed)

    def _open(self, document_id: str, tenant: str, kek_id: str, sealed: bytes) -> bytes:
        if kek_id not in self.keyring:
            raise EvidenceUnavailable(
                f"The evidence keyring lacks {kek_id}, which sealed document {document_id}.")
        try:
            return self.keyring.open(PURPOSE, Sealed(kek_id, sealed),
                                     binding(tenant, document_id))
        except EvidenceUnavailable:
            # The key is there, so the row itself changed (or came from another document).
            raise DocumentTampered(
                f"Stored document {document_id} does not authenticate: it was altered or "
                "moved after it was sealed.", document_id=document_id) from None

    async def delete(self, document_id: str, *, tenant: str) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(delete(DOCUMENTS).where(DOCUMENTS.c.document_id == document_id,
                                                       DOCUMENTS.c.tenant == tenant))

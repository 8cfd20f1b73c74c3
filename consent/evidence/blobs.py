"""Proof documents (R2 "pièces justificatives"): checked on upload, encrypted at rest.

An upload is accepted only if its bytes *are* what it claims (content sniffing, never the file
name): a PDF starts with ``%PDF-`` and has ``%%EOF`` near its end, a PNG has the PNG signature and
ends with its ``IEND`` chunk, a JPEG starts with ``FF D8 FF`` and ends with ``FF D9``. The declared
media type must match the sniffed one, the size must be within the limit (default 4 MB, like
GRDF ADICT's attachments). Anything else raises :class:`RejectedDocument` before a byte is
written, so a refused upload leaves nothing behind.

Every document belongs to one tenant (R24): it is stored under its tenant and read back only by
naming that tenant; another tenant's id reads as unknown. A store that seals (the database one,
:mod:`consent.evidence.blobs_db`) seals with AES-256-GCM under the evidence keyring, purpose
:data:`PURPOSE`, associated data :func:`binding` (tenant and document id), so sealed bytes moved
onto another document or tenant fail to open. The domain keeps the metadata
(``proof_document``: kind, review state, links to consents and mandates).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from consent.errors import Conflict, NotFound
from consent.evidence.errors import DocumentTooLarge, RejectedDocument

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

MAX_DOCUMENT_SIZE = 4 * 1024 * 1024
PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
EXTENSIONS = {PDF: "pdf", PNG: "png", JPEG: "jpg"}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: The keyring purpose documents are sealed for (its own derived key, :mod:`.secrets`).
PURPOSE = "document"


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What the domain records about a stored document."""

    document_id: str
    media_type: str
    size: int
    sha256: str


def sniff(data: bytes) -> str | None:
    """The media type ``data`` really has, among PDF, PNG and JPEG, or ``None``."""
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]:
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82"):
        return PNG
    if data.startswith(b"\xff\xd8\xff") and b"\xff\xd9" in data[-64:]:
        return JPEG
    return None


def check_upload(data: bytes, declared_type: str, *, max_size: int = MAX_DOCUMENT_SIZE) -> str:
    """Return the media type of an acceptable upload; raise :class:`RejectedDocument`."""
    if len(data) > max_size:
        raise DocumentTooLarge(
            f"The document has {len(data)} bytes; the limit is {max_size} bytes.",
            max_size=max_size)
    if not data:
        raise RejectedDocument("The document is empty.")
    declared = declared_type.split(";")[0].strip().lower()
    if declared not in EXTENSIONS:
        raise RejectedDocument(
            f"Documents must be PDF, PNG or JPEG, not {declared_type!r}.",
            accepted=sorted(EXTENSIONS))
    actual = sniff(data)
    if actual is None:
        raise RejectedDocument("The content is not a complete PDF, PNG or JPEG file.")
    if actual != declared:
        raise RejectedDocument(f"The file is declared {declared} but its content is {actual}.")
    return actual


def check_document_id(document_id: str) -> None:
    """Refuse a malformed document id (:class:`RejectedDocument`)."""
    if not _ID.fullmatch(document_id):
        raise RejectedDocument("A document id is 1-64 letters, digits, '-' or '_'.")


def check_tenant(tenant: str) -> None:
    """Refuse a tenant id that cannot name a tenant (empty, too long, or holding a NUL, which
    :func:`binding` uses as separator)."""
    if not 0 < len(tenant) <= 64 or "\0" in tenant:
        raise RejectedDocument("A tenant id is 1-64 characters.")


def binding(tenant: str, document_id: str) -> bytes:
    """The associated data a document is sealed with: its tenant and its id (unambiguous:
    neither holds a NUL)."""
    return tenant.encode() + b"\0" + document_id.encode()


@runtime_checkable
class BlobStore(Protocol):
    """Where proof documents' bytes live. Every call names the document's tenant (R24)."""

    async def put(self, document_id: str, data: bytes, declared_type: str, *,
                  tenant: str) -> StoredDocument:
        """Check and store a new document in its own transaction; an existing id raises
        :class:`Conflict`, a refused upload :class:`RejectedDocument` (nothing stored)."""
        ...

    async def put_in(self, conn: AsyncConnection, document_id: str, data: bytes,
                     declared_type: str, *, tenant: str) -> StoredDocument:
        """:meth:`put` inside the caller's transaction on ``conn``: the document exists exactly
        when that transaction commits, so it cannot outlive the metadata written with it."""
        ...

    async def get(self, document_id: str, *, tenant: str) -> bytes:
        """The document's bytes; an id unknown in ``tenant`` raises :class:`NotFound`, stored
        bytes that do not authenticate :class:`DocumentTampered` (never altered bytes)."""
        ...

    async def delete(self, document_id: str, *, tenant: str) -> None:
        """Remove a document (erasure, R23); an unknown id is not an error."""
        ...


def stored_document(document_id: str, data: bytes, media_type: str) -> StoredDocument:
    """What the domain records about ``data`` stored as ``document_id``."""
    return StoredDocument(document_id, media_type, len(data), hashlib.sha256(data).hexdigest())


class MemoryBlobStore:
    """Documents in a dict: for tests, benchmarks and demos. Not transactional: a
    :meth:`put_in` whose transaction rolls back leaves its document behind."""

    def __init__(self, *, max_size: int = MAX_DOCUMENT_SIZE) -> None:
        self.max_size = max_size
        self._data: dict[str, tuple[str, bytes]] = {}

    async def put(self, document_id: str, data: bytes, declared_type: str, *,
                  tenant: str) -> StoredDocument:
        check_document_id(document_id)
        check_tenant(tenant)
        media_type = check_upload(data, declared_type, max_size=self.max_size)
        if document_id in self._data:
            raise Conflict(f"Document {document_id} already exists.")
        self._data[document_id] = (tenant, bytes(data))
        return stored_document(document_id, data, media_type)

    async def put_in(self, conn: AsyncConnection, document_id: str, data: bytes,
                     declared_type: str, *, tenant: str) -> StoredDocument:
        return await self.put(document_id, data, declared_type, tenant=tenant)

    async def get(self, document_id: str, *, tenant: str) -> bytes:
        owner, data = self._data.get(document_id, (None, b""))
        if owner != tenant:
            raise NotFound(f"No document {document_id}.")
        return data

    async def delete(self, document_id: str, *, tenant: str) -> None:
        if self._data.get(document_id, (None,))[0] == tenant:
            del self._data[document_id]

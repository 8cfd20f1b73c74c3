"""Proof documents (R2 "pièces justificatives"): checked on upload, encrypted at rest.

An upload is accepted only if its bytes *are* what it claims (content sniffing, never the file
name): a PDF starts with ``%PDF-`` and has ``%%EOF`` near its end, a PNG has the PNG signature and
ends with its ``IEND`` chunk, a JPEG starts with ``FF D8 FF`` and ends with ``FF D9``. The declared
media type must match the sniffed one, the size must be within the limit (default 4 MB, like
GRDF ADICT's attachments). Anything else raises :class:`RejectedDocument` before a byte is
written, so a refused upload leaves nothing behind.

:class:`FileBlobStore` seals each document with AES-256-GCM (evidence keyring, purpose
``document``, associated data = the document id, so a file moved onto another id fails to
open) and writes it atomically (temporary file, fsync, rename). The domain keeps the metadata
(``proof_document``: kind, review state, links to consents and mandates).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from consent.errors import Conflict, NotFound
from consent.evidence.errors import DocumentTooLarge, EvidenceUnavailable, RejectedDocument
from consent.evidence.secrets import Keyring, Sealed

MAX_DOCUMENT_SIZE = 4 * 1024 * 1024
PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
EXTENSIONS = {PDF: "pdf", PNG: "png", JPEG: "jpg"}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_MAGIC = b"PSLB\x01"
_PURPOSE = "document"


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
    if not _ID.fullmatch(document_id):
        raise RejectedDocument("A document id is 1-64 letters, digits, '-' or '_'.")


@runtime_checkable
class BlobStore(Protocol):
    """Where proof documents' bytes live."""

    async def put(self, document_id: str, data: bytes, declared_type: str) -> StoredDocument:
        """Check and store a new document; an existing id raises :class:`Conflict`."""
        ...

    async def get(self, document_id: str) -> bytes:
        """The document's bytes; an unknown id raises :class:`NotFound`."""
        ...

    async def delete(self, document_id: str) -> None:
        """Remove a document (erasure, R23); an unknown id is not an error."""
        ...


def _stored(document_id: str, data: bytes, media_type: str) -> StoredDocument:
    return StoredDocument(document_id, media_type, len(data), hashlib.sha256(data).hexdigest())


class MemoryBlobStore:
    """Documents in a dict: for tests and demos."""

    def __init__(self, *, max_size: int = MAX_DOCUMENT_SIZE) -> None:
        self.max_size = max_size
        self._data: dict[str, bytes] = {}

    async def put(self, document_id: str, data: bytes, declared_type: str) -> StoredDocument:
        check_document_id(document_id)
        media_type = check_upload(data, declared_type, max_size=self.max_size)
        if document_id in self._data:
            raise Conflict(f"Document {document_id} already exists.")
        self._data[document_id] = bytes(data)
        return _stored(document_id, data, media_type)

    async def get(self, document_id: str) -> bytes:
        try:
            return self._data[document_id]
        except KeyError:
            raise NotFound(f"No document {document_id}.") from None

    async def delete(self, document_id: str) -> None:
        self._data.pop(document_id, None)


class FileBlobStore:
    """Sealed documents under ``root/<first two chars>/<id>``."""

    def __init__(self, root: Path, keyring: Keyring, *, max_size: int = MAX_DOCUMENT_SIZE) -> None:
        self.root = root
        self.keyring = keyring
        self.max_size = max_size

    def _path(self, document_id: str) -> Path:
        check_document_id(document_id)
        return self.root / document_id[:2] / document_id

    async def put(self, document_id: str, data: bytes, declared_type: str) -> StoredDocument:
        path = self._path(document_id)
        media_type = check_upload(data, declared_type, max_size=self.max_size)
        sealed = self.keyring.seal(_PURPOSE, data, document_id.encode())
        kek = sealed.kek_id.encode()
        await asyncio.to_thread(_write_new, path, _MAGIC + bytes([len(kek)]) + kek + sealed.blob)
        return _stored(document_id, data, media_type)

    async def get(self, document_id: str) -> bytes:
        path = self._path(document_id)
        try:
            raw = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound(f"No document {document_id}.") from None
        if not raw.startswith(_MAGIC):
            raise EvidenceUnavailable(f"Document {document_id} is not a sealed document file.")
        length = raw[len(_MAGIC)]
        start = len(_MAGIC) + 1
        kek_id = raw[start:start + length].decode("ascii", "replace")
        return self.keyring.open(_PURPOSE, Sealed(kek_id, raw[start + length:]),
                                 document_id.encode())

    async def delete(self, document_id: str) -> None:
        await asyncio.to_thread(self._path(document_id).unlink, missing_ok=True)


def _write_new(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # fails if the id exists: a document is never overwritten
        except FileExistsError:
            raise Conflict(f"Document {path.name} already exists.") from None
    finally:
        os.unlink(temp)

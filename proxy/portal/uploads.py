"""Reading one uploaded document from a ``multipart/form-data`` household form, strictly.

The CSRF token travels as a form field like in every other form and is checked (with the
``Origin``) before anything is stored; the file part is read in chunks and refused as soon as
it exceeds the limit, so a huge upload costs at most that much memory. At most
:data:`MAX_PARTS` parts, text fields of at most :data:`MAX_FIELD` bytes. What the document *is*
is decided later by its content (:func:`consent.evidence.blobs.check_upload`), never by the
file name or the browser's declared type alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web

from proxy.web import csrf

MAX_PARTS = 8
MAX_FIELD = 4096
_CHUNK = 64 * 1024


class UploadRejected(Exception):
    """The form is not an acceptable upload; ``message_key`` says why, for the page."""

    def __init__(self, message_key: str) -> None:
        super().__init__(message_key)
        self.message_key = message_key


@dataclass(slots=True)
class Upload:
    """The document's bytes, its declared type and name, and the other fields."""

    data: bytes = b""
    content_type: str = ""
    filename: str = ""
    fields: dict[str, str] = field(default_factory=dict)


async def read_upload(request: web.Request, *, max_bytes: int, name: str = "file") -> Upload:
    """The upload of the form (CSRF-checked); :class:`UploadRejected` or
    :data:`~proxy.web.csrf.FORM_REJECTED` errors otherwise."""
    if request.content_type != "multipart/form-data":
        raise UploadRejected("portal.err.file.missing")
    upload = Upload()
    reader = await request.multipart()
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise UploadRejected("portal.err.file.missing")
        if part.name == name and part.filename is not None:
            upload.content_type = part.headers.get("Content-Type", "")
            upload.filename = part.filename[:200]
            upload.data = await _read_capped(part, max_bytes)
        elif part.name:
            raw = await part.read(decode=False)
            if len(raw) > MAX_FIELD:
                raise UploadRejected("portal.err.generic")
            upload.fields[part.name] = raw.decode("utf-8", "replace")
    else:
        raise UploadRejected("portal.err.generic")
    await csrf.verify(request, upload.fields.get(csrf.FIELD, ""))
    if not upload.data:
        raise UploadRejected("portal.err.file.missing")
    return upload


async def _read_capped(part: BodyPartReader, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise UploadRejected("portal.err.file.too_large")
        chunks.append(chunk)
    return b"".join(chunks)

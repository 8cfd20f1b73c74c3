"""Reading a request body whole, up to a size, or not at all.

``request.content.read(n)`` returns *at most* ``n`` bytes: what has arrived so far, which for a
body sent in several TCP segments is only its beginning. A handler that took it for the body
acted on a truncated form (a consent narrowed to the first checkbox), refused a valid JSON
object, or stored a cut proof document. :func:`read_capped` reads until the body ends.
A body that breaks off before its announced length (the client went away) is an error of the
request, never half of one acted on.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.client_exceptions import ClientPayloadError
from aiohttp.http_exceptions import HttpProcessingError

from consent.errors import DomainError

_CHUNK = 64 * 1024


class IncompleteBody(DomainError):
    """The body ended before the length it announced (the client stopped sending)."""

    code = "incomplete-body"
    title = "Incomplete body"


async def read_capped(request: web.Request, limit: int) -> bytes | None:
    """The whole body, or ``None`` if it is longer than ``limit`` bytes (read no further).

    Raises :class:`IncompleteBody` if the body breaks off."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await request.content.read(_CHUNK):  # b"" only at the end
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    except (ClientPayloadError, HttpProcessingError, ConnectionError) as exc:
        raise IncompleteBody("The body ended before its announced length.") from exc
    return b"".join(chunks)

"""Reading a DSO's answer body, bounded: a DSO (or whatever answers in its place: a proxy
gone wrong, a compromised host) that sends more than any documented answer holds gets an
:class:`~adapters.errors.UpstreamMalformed` (a 502 to the recipient), never the process's
memory.

The bound is on the bytes aiohttp hands over, after it undid any ``Content-Encoding``: a
small gzip body that inflates to gigabytes is stopped at the bound too. It is far above the
largest legitimate answer: a year of ten-minute readings from the in-house API (52,704
readings) is about 5 MB, a week of Enedis load curve under 100 kB, three years of GRDF
daily values about 1 MB.
"""

from __future__ import annotations

import aiohttp

from adapters.errors import UpstreamMalformed

#: The most bytes one DSO answer may hold (:mod:`module docstring <adapters.bodies>`).
MAX_ANSWER_BYTES = 32 * 1024 * 1024


async def read_answer(response: aiohttp.ClientResponse, limit: int = MAX_ANSWER_BYTES,
                      ) -> bytes:
    """The whole body of ``response``, or :class:`UpstreamMalformed` (``field`` ``body``) as
    soon as it declares or delivers more than ``limit`` bytes; what was read is dropped."""
    declared = response.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> UpstreamMalformed:
    return UpstreamMalformed(f"The DSO's answer is larger than {limit // (1024 * 1024)} MiB, "
                             "more than any answer it documents.", field="body")

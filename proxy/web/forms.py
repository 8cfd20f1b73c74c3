"""Reading HTML and OAuth form bodies strictly: size, count, encoding (never a 500).

:func:`read_form` returns the ``application/x-www-form-urlencoded`` body as ordered pairs, so
a caller decides whether a repeated name is an error (OAuth parameters, RFC 6749 §3.1) or a
list (checkboxes on the consent page).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web

from consent.errors import DomainError
from proxy.web.body import read_capped

FORM_TYPE = "application/x-www-form-urlencoded"
#: A form body longer than this is refused before it is parsed.
MAX_FORM_BYTES = 32 * 1024
#: More fields than this in one form is abuse.
MAX_FIELDS = 64


class MalformedForm(DomainError):
    """The body is not a small, well-encoded form."""

    code = "malformed-form"
    title = "Malformed form"


async def read_form(request: web.Request) -> list[tuple[str, str]]:
    """The form body as ``(name, value)`` pairs, in order."""
    if request.content_type != FORM_TYPE:
        raise MalformedForm(f"The body must be {FORM_TYPE}.")
    body = await read_capped(request, MAX_FORM_BYTES)
    if body is None:
        raise MalformedForm(f"The body is larger than {MAX_FORM_BYTES} bytes.")
    try:
        # Percent-encoding is ASCII: a raw non-ASCII byte is malformed.
        return parse_pairs(body.decode("ascii"))
    except UnicodeDecodeError:
        raise MalformedForm("The form is not valid UTF-8 form encoding.") from None


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """Decode ``a=1&b=2`` strictly (malformed UTF-8 or fields, too many fields, a NUL
    character: error)."""
    if not text:
        return []
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, encoding="utf-8",
                          errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise MalformedForm("The form is not valid UTF-8 form encoding, or has too many "
                            "fields.") from None
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        # No field of ours holds one, and PostgreSQL text cannot (the driver would raise).
        raise MalformedForm("The form holds a NUL character.")
    return pairs


def first(pairs: list[tuple[str, str]], name: str, default: str = "") -> str:
    """The first value of ``name``."""
    return next((value for key, value in pairs if key == name), default)


def every(pairs: list[tuple[str, str]], name: str) -> list[str]:
    """Every value of ``name``, in order."""
    return [value for key, value in pairs if key == name]

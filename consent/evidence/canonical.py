"""Encodings every piece of evidence shares: canonical JSON, hashes, base64, instants.

Pure (standard library and ``rfc8785``; ``orjson`` when installed, for speed): the offline
verifier imports this module.

- Canonical JSON is RFC 8785 (JCS). Evidence documents never hold floating-point numbers, so any
  JCS implementation, or ``json.dumps(sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)`` for keys in the Basic Multilingual Plane, gives the same bytes.
- Instants are RFC 3339 UTC with exactly six fractional digits and a ``Z``
  (``2026-01-09T10:00:00.000000Z``): fixed width, so text order is time order.
- Base64 is the standard alphabet with padding (RFC 4648 §4); hashes in JSON are lowercase hex
  SHA-256 unless a field says ``b64``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import rfc8785

orjson: Any
try:  # the same bytes as json.dumps below, about thirty times faster (every access event)
    import orjson
except ImportError:  # pragma: no cover - a verifier installed without Passerelle's extras
    orjson = None

JSON = Any
"""A value made of dicts with text keys, lists, text, integers, booleans and ``None``."""


class EncodingError(ValueError):
    """A value cannot be encoded or decoded as evidence (a float, a naive instant, bad base64)."""


def canonical(value: JSON) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of ``value``; floats are refused (see module docstring).

    Values whose object keys are all ASCII and whose integers are I-JSON-safe (``|n| < 2**53``)
    take ``orjson`` or ``json.dumps`` (C speed, the same bytes: same escapes, and ASCII keys
    sort the same by code point, by UTF-8 byte and by UTF-16 unit); anything else goes through
    ``rfc8785``, which also refuses what JCS cannot encode. ``tests/evidence/test_records.py``
    checks the three agree.
    """
    if _plain(value):
        try:
            if orjson is not None:
                return bytes(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
            return json.dumps(value, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode()
        except (UnicodeEncodeError, TypeError):  # a lone surrogate: rfc8785 says what is wrong
            pass  # (orjson's JSONEncodeError is a TypeError)
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        # rfc8785 sorts keys by their UTF-16 form: a lone surrogate in a key fails there
        raise EncodingError(f"cannot canonicalise: {exc}") from exc


def parse_canonical(data: bytes) -> JSON:
    """The value ``data`` encodes, if ``data`` is that value's canonical form (RFC 8785);
    :class:`ValueError` otherwise. This is also a strict parse: a document with a duplicate
    key, ``NaN`` or a float is never a value's canonical form. At C speed (the verifier reads
    two such documents per entry)."""
    value = parse_checked(data)
    if canonical(value) != data:
        raise ValueError("not canonical JSON")
    return value


def parse_checked(data: bytes) -> JSON:
    """``data`` parsed, at C speed, with no check of its own: for bytes
    :func:`parse_canonical` has accepted already, and by it."""
    return orjson.loads(data) if orjson is not None else json.loads(data)


_SAFE_INTEGER = 2**53 - 1


def _plain(value: JSON) -> bool:
    """Refuse floats and non-text keys; ``True`` if ``json.dumps`` gives the JCS bytes."""
    kind = type(value)
    if kind is str or value is None:
        return True
    if kind is int:
        return bool(-_SAFE_INTEGER <= value <= _SAFE_INTEGER)
    if kind is list:
        return all([_plain(item) for item in value])  # every item checked: a float raises
    if kind is dict:  # the usual case, checked without the generic walk below
        plain = True
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return _plain_any(value)
            kind = type(item)
            if kind is int:  # inline: an access event's counts, four calls saved per event
                plain = plain and -_SAFE_INTEGER <= item <= _SAFE_INTEGER
            elif kind is not str and item is not None:
                plain = _plain(item) and plain
        return plain
    return _plain_any(value)


def _plain_any(value: JSON) -> bool:
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, float):
        raise EncodingError("evidence documents hold no floating-point numbers")
    if isinstance(value, int):
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    plain = True
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError(f"object keys must be text, got {key!r}")
            plain = _plain_any(item) and key.isascii() and plain
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        for item in value:
            plain = _plain_any(item) and plain
    else:  # bytes, sets...: rfc8785 refuses them
        plain = False
    return plain


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def b64encode(data: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, length: int | None = None) -> bytes:
    """Strict standard base64; ``length`` checks the decoded size."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError) as exc:
        raise EncodingError(f"not base64: {text!r:.60}") from exc
    if length is not None and len(data) != length:
        raise EncodingError(f"expected {length} bytes, got {len(data)}")
    return data


def format_instant(instant: datetime) -> str:
    """``instant`` as fixed-width RFC 3339 UTC text; a naive datetime is refused."""
    if instant.tzinfo is None:
        raise EncodingError(f"an instant needs a timezone: {instant.isoformat()}")
    if instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    # isoformat, not strftime: a third of the cost (four instants per access event), and the
    # year always has four digits (strftime's %Y does not pad years before 1000).
    return instant.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_instant(text: str) -> datetime:
    """Inverse of :func:`format_instant` (also accepts any RFC 3339 text with an offset)."""
    try:
        instant = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise EncodingError(f"not an RFC 3339 instant: {text!r:.60}") from exc
    if instant.tzinfo is None:
        raise EncodingError(f"instant without offset: {text!r}")
    return instant.astimezone(UTC)

"""The members of a proof bundle, read as what they are: an untrusted zip
(docs/evidence-format.md §2, §10). Pure (standard library): the offline verifier's import rules.

A bundle comes from the party being audited, so nothing in it is believed before it is checked:

- only the documented layout is read: every member name must match one of :data:`LAYOUT`,
  which also refuses ``..``, absolute paths, backslashes and empty path parts (an auditor who
  unzips the bundle must not write outside the folder);
- sizes are bounded per member (:func:`limit_of`) and in total (:data:`MAX_TOTAL`), first by
  what the zip declares, then while reading, since a declared size is the sender's word: a
  small zip whose member inflates to gigabytes is refused, never loaded into memory;
- JSON is read strictly (:func:`strict_json`): a duplicate object key (which two parsers can
  resolve differently) or a non-JSON constant (``NaN``) is an error.

Any breach raises :class:`MemberError`, which the verifier reports as an integrity failure.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

_MiB = 1 << 20
_ID = r"[^/\\\x00-\x1f]{1,200}"  # any identifier; unsafe() refuses '..'
#: Every member a bundle may hold, with the largest size each may have uncompressed.
LAYOUT: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(pattern), limit) for pattern, limit in (
        (r"manifest\.json", 256 * _MiB),  # lists every other member's hash
        (r"keys\.json", 16 * _MiB),
        (r"checkpoints/index\.json", 64 * _MiB),
        (r"checkpoints/(0|[1-9][0-9]{0,18})\.note", 64 * 1024),
        (r"log/entries\.tsv", 1 << 36),  # streamed, one bounded line at a time
        (r"log/inclusion\.json", 256 * _MiB),
        (rf"records/(consent|mandate)/{_ID}/[0-9]{{6,}}-[a-z_]{{1,40}}\.json", 16 * _MiB),
        (r"documents/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(pdf|png|jpg|bin)", 64 * _MiB),
        (r"summary\.txt", 256 * _MiB),
    ))
#: Most bytes all members may hold together, uncompressed.
MAX_TOTAL = 1 << 37
#: Most members in one bundle.
MAX_MEMBERS = 2_000_000
#: Longest line of ``log/entries.tsv`` (a leaf and its payload).
MAX_LINE = 16 * _MiB
_CHUNK = _MiB


class MemberError(ValueError):
    """A member breaks the bundle's layout or bounds; ``where`` names it."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where, self.what = where, what


def unsafe(name: str) -> str | None:
    """Why ``name`` could escape the folder the bundle is unzipped into, or ``None``."""
    if "\\" in name:
        return "a backslash in a member name"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute member name"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "an empty, '.' or '..' part in a member name"
    return None


def limit_of(name: str) -> int | None:
    """The size bound of a member of the documented layout, or ``None`` for any other."""
    for pattern, limit in LAYOUT:
        if pattern.fullmatch(name):
            return limit
    return None


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key[:40]!r} appears twice in one object")
        found[key] = value
    return found


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(data: bytes | str) -> Any:
    """Parse JSON, refusing duplicate keys and ``NaN``/``Infinity`` (``ValueError``)."""
    return json.loads(data, object_pairs_hook=_refuse_duplicates,
                      parse_constant=_refuse_constant)


class Members:
    """Bounded access to the members of an open bundle."""

    def __init__(self, bundle: zipfile.ZipFile) -> None:
        self.bundle = bundle
        self.names = bundle.namelist()
        self.limits: dict[str, int] = {}

    def check(self) -> list[tuple[str, str]]:
        """Problems with the members' names and declared sizes (empty if none)."""
        if len(self.names) > MAX_MEMBERS:
            raise MemberError("bundle", f"more than {MAX_MEMBERS} members")
        problems, total = [], 0
        for info in self.bundle.infolist():
            name = info.filename
            why = unsafe(name)
            limit = limit_of(name) if why is None else None
            if why is not None:
                problems.append((repr(name), f"{why}: refused"))
            elif limit is None:
                problems.append((name, "not a member of the documented bundle layout"))
            elif info.file_size > limit:
                problems.append((name, f"declares {info.file_size} bytes, more than the "
                                       f"{limit} a bundle member of its kind may hold"))
            else:
                self.limits[name] = limit
            total += info.file_size
        if total > MAX_TOTAL:
            raise MemberError("bundle", f"its members declare {total} bytes in all, more "
                                        f"than {MAX_TOTAL}")
        return problems

    def chunks(self, name: str) -> Iterator[bytes]:
        """The member's bytes, in chunks, stopped as soon as they exceed its bound."""
        limit = self.limits.get(name)
        if limit is None:
            raise MemberError(name, "missing, or not a readable member of the layout")
        seen = 0
        with self.bundle.open(name) as member:
            while chunk := member.read(_CHUNK):
                seen += len(chunk)
                if seen > limit:
                    raise MemberError(name, f"inflates past {limit} bytes: refused")
                yield chunk

    def read(self, name: str) -> bytes:
        """The whole member (bounded, see :meth:`chunks`)."""
        return b"".join(self.chunks(name))

    def sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks(name):
            digest.update(chunk)
        return digest.hexdigest()

    def lines(self, name: str) -> Iterator[tuple[int, bytes]]:
        """Numbered lines (without their newline), none longer than :data:`MAX_LINE`."""
        number, rest = 0, b""
        for chunk in self.chunks(name):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            if len(rest) > MAX_LINE:
                raise MemberError(name, f"line {number + len(lines) + 1} is longer than "
                                        f"{MAX_LINE} bytes")
            for line in lines:
                number += 1
                if len(line) > MAX_LINE:
                    raise MemberError(name, f"line {number} is longer than {MAX_LINE} bytes")
                yield number, line
        if rest:
            yield number + 1, rest

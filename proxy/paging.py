"""Cursor pages of the read APIs (``GET /audit/v1/entries``, ``GET /staff/journal``,
``GET /api/v1/points``, ``GET /api/v1/consents/current``): the same ``after`` and ``limit``
query parameters and the same ``next`` member, so all read alike.

Rows come in the order of their cursor: an integer (the log index, the journal line's id,
oldest first) or a row's text identifier (:func:`keyed_page_of`, a consent's id: a stable order
that new rows may enter anywhere). ``after`` is the cursor of the last row already seen
(absent: from the first row);
``limit`` is 1 to :data:`MAX_PAGE`, default :data:`DEFAULT_PAGE`. The answer's ``next`` is the
``after`` of the following page, ``null`` on a page shorter than ``limit`` (the last one; a
full last page is followed by an empty one). Clients pass ``next`` back as it came: what the
cursor counts is not part of the contract. Malformed values are a 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from consent.errors import DomainError
from consent.models.base import ID_LENGTH
from consent.numbers import MAX_DIGITS, whole_in

MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_CURSOR = 10**MAX_DIGITS - 1

Cursor = TypeVar("Cursor", int, str)


@dataclass(frozen=True, slots=True)
class Page(Generic[Cursor]):
    """Which page a request asks for: rows whose cursor is above ``after``, at most ``limit``."""

    after: Cursor
    limit: int

    def next(self, cursors: Sequence[Cursor]) -> Cursor | None:
        """The ``next`` member of the answer that shows rows with these ``cursors``."""
        return cursors[-1] if cursors and len(cursors) == self.limit else None


def _limit(query: Mapping[str, str]) -> int:
    limit = query.get("limit")
    return DEFAULT_PAGE if limit is None else whole_in(limit, "limit", low=1, high=MAX_PAGE)


def page_of(query: Mapping[str, str], *, before_first: int) -> Page[int]:
    """The page ``query`` asks for; ``before_first`` is the ``after`` of the first page (a
    value below every cursor)."""
    after = query.get("after")
    return Page(
        before_first if after is None else whole_in(after, "after", low=0, high=MAX_CURSOR),
        _limit(query))


def keyed_page_of(query: Mapping[str, str]) -> Page[str]:
    """The page ``query`` asks for, over rows ordered by their text identifier; the first
    page's ``after`` is the empty text, below every identifier."""
    after = query.get("after", "")
    if "after" in query and not 0 < len(after) <= ID_LENGTH:
        raise DomainError(f"after must be the next member of a previous page (1 to {ID_LENGTH} "
                          "characters).", field="after")
    return Page(after, _limit(query))

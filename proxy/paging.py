"""Cursor pages of the read APIs (``GET /audit/v1/entries``, ``GET /staff/journal``): the same
``after`` and ``limit`` query parameters and the same ``next`` member, so both read alike.

Rows come oldest first, in the order of an integer cursor (the log index, the journal line's
id). ``after`` is the cursor of the last row already seen (absent: from the first row);
``limit`` is 1 to :data:`MAX_PAGE`, default :data:`DEFAULT_PAGE`. The answer's ``next`` is the
``after`` of the following page, ``null`` on a page shorter than ``limit`` (the last one; a
full last page is followed by an empty one). Clients pass ``next`` back as it came: what the
cursor counts is not part of the contract. Malformed values are a 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from consent.numbers import MAX_DIGITS, whole_in

MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_CURSOR = 10**MAX_DIGITS - 1


@dataclass(frozen=True, slots=True)
class Page:
    """Which page a request asks for: rows whose cursor is above ``after``, at most ``limit``."""

    after: int
    limit: int

    def next(self, cursors: Sequence[int]) -> int | None:
        """The ``next`` member of the answer that shows rows with these ``cursors``."""
        return cursors[-1] if cursors and len(cursors) == self.limit else None


def page_of(query: Mapping[str, str], *, before_first: int) -> Page:
    """The page ``query`` asks for; ``before_first`` is the ``after`` of the first page (a
    value below every cursor)."""
    after, limit = query.get("after"), query.get("limit")
    return Page(
        before_first if after is None else whole_in(after, "after", low=0, high=MAX_CURSOR),
        DEFAULT_PAGE if limit is None else whole_in(limit, "limit", low=1, high=MAX_PAGE))

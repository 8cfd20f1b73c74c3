"""Reading the evidence log: its head, entries, and RFC 9162 inclusion and consistency proofs.

:class:`LogReader` is the read side of :class:`~consent.evidence.log.EvidenceLog` (which
extends it with appends); auditors' checkpoints and proof bundles only need this side. Every
proof is folded from the O(log n) stored perfect subtrees that cover it (:mod:`.merkle`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, select, tuple_

from consent.evidence.errors import EvidenceUnavailable
from consent.evidence.merkle import (
    EMPTY_ROOT,
    Node,
    Range,
    consistency_ranges,
    fold,
    inclusion_ranges,
    perfect_cover,
)
from consent.evidence.tables import LogEntryRow, LogHeadRow, LogNodeRow
from consent.storage.database import Database

LOG_ID = "evidence"
HEAD = LogHeadRow.__table__  # type: ignore[attr-defined]
ENTRY = LogEntryRow.__table__  # type: ignore[attr-defined]
NODE = LogNodeRow.__table__  # type: ignore[attr-defined]
#: Most values in one ``IN (...)`` list.
CHUNK = 500


class LogReader:
    """Head, entries and proofs of the log in ``db``."""

    def __init__(self, db: Database, *, origin: str) -> None:
        self.db = db
        self.default_origin = origin
        self._origin: str | None = None

    async def origin(self) -> str:
        """The log's origin: fixed by its first append, whatever later instances are told, so
        every checkpoint of one log carries the same name (tlog-checkpoint §Note text)."""
        if self._origin is None:
            async with self.db.engine.connect() as conn:
                stored = (await conn.execute(select(HEAD.c.origin)
                                             .where(HEAD.c.log_id == LOG_ID))).scalar()
            if stored is None:
                return self.default_origin
            self._origin = str(stored)
        return self._origin

    async def head(self) -> tuple[int, bytes]:
        """Current size and root hash."""
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(HEAD.c.size, HEAD.c.root)
                                      .where(HEAD.c.log_id == LOG_ID))).first()
        return (0, EMPTY_ROOT) if row is None else (int(row.size), bytes(row.root))

    async def range_hashes(self, ranges: Sequence[Range]) -> list[bytes]:
        """Hashes of subtrees ``[lo, hi)``, from O(log n) stored perfect nodes each."""
        covers = [perfect_cover(lo, hi) for lo, hi in ranges]
        async with self.db.engine.connect() as conn:
            found = await conn.run_sync(fetch_nodes, {n for cover in covers for n in cover})
        return [fold([found[n] for n in cover]) for cover in covers]

    async def root_at(self, size: int) -> bytes:
        """Root hash of the tree when it had ``size`` leaves."""
        return EMPTY_ROOT if size == 0 else (await self.range_hashes([(0, size)]))[0]

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 audit path of leaf ``index`` in the tree of ``size`` leaves."""
        await self._check_size(size)
        return await self.range_hashes(inclusion_ranges(index, size))

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """RFC 9162 consistency proof from ``old_size`` to ``new_size``."""
        await self._check_size(new_size)
        return await self.range_hashes(consistency_ranges(old_size, new_size))

    async def _check_size(self, size: int) -> None:
        current, _root = await self.head()
        if size > current:
            raise EvidenceUnavailable(f"The log has {current} entries, not {size}.")

    async def entries(self, query: Select[Any], *, page: int = 5000) -> AsyncIterator[Any]:
        """Rows of ``query`` (a select over ``evidence_log_entry`` ordered by nothing), in index
        order, fetched ``page`` rows at a time (keyset pagination: no offset scans)."""
        last = -1
        while True:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(query.where(ENTRY.c.idx > last)
                                           .order_by(ENTRY.c.idx).limit(page))).all()
            for row in rows:
                yield row
            if len(rows) < page:
                return
            last = rows[-1].idx


def fetch_nodes(conn: Connection, wanted: Iterable[Node]) -> dict[Node, bytes]:
    """Stored perfect nodes by ``(level, index)``; a missing one is a broken log."""
    wanted = list(set(wanted))
    found: dict[Node, bytes] = {}
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start:start + CHUNK]
        rows = conn.execute(select(NODE.c.level, NODE.c.idx, NODE.c.hash)
                            .where(tuple_(NODE.c.level, NODE.c.idx).in_(part)))
        found.update({(int(lv), int(ix)): bytes(h) for lv, ix, h in rows})
    if len(found) != len(wanted):
        raise EvidenceUnavailable("The evidence log lacks stored nodes it needs.")
    return found

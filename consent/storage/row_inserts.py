"""New rows of one table, inserted with group commit (:mod:`consent.group_commit`).

For writes that are plain inserts with nothing to race (a new row under a fresh random key,
no condition on other rows): concurrent callers' rows go in together, one Core ``INSERT``
(``executemany``) in one transaction, instead of one ORM session and one commit each. The token
endpoint stores client-credentials tokens this way.

The change feed sees the statement as it sees any other (:mod:`consent.storage.change_feed`),
so caches are invalidated exactly as if each row had been written on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from consent.group_commit import GroupCommit
from consent.storage.database import Database


class RowInserts:
    """Group-committed inserts into ``table``; :meth:`insert` returns once its rows are
    durable (or raises, none of its batch written). Start with :meth:`start` inside the
    running loop; :meth:`close` writes what is pending."""

    def __init__(self, db: Database, table: sa.Table, *, max_batch: int = 500) -> None:
        self.db = db
        self.table = table
        # An item is one caller's rows (an access token, maybe its refresh token): a batch
        # boundary never splits them.
        self._commits: GroupCommit[Sequence[Mapping[str, Any]]] = GroupCommit(
            self._write, max_batch=max_batch, name=f"{table.name}-inserts")

    @property
    def commits(self) -> int:
        """Transactions committed so far."""
        return self._commits.commits

    def start(self) -> None:
        self._commits.start()

    async def insert(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (column key -> value), all in the same transaction."""
        await self._commits.submit(rows)

    async def _write(self, batch: Sequence[Sequence[Mapping[str, Any]]]
                     ) -> Callable[[], None] | None:
        rows = [row for item in batch for row in item]
        async with self.db.engine.begin() as conn:
            await conn.execute(sa.insert(self.table), rows)
        return None

    async def close(self) -> None:
        await self._commits.close()


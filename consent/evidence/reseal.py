"""Re-sealing under the current evidence key (issue 9; docs/operations.md sections 5 and 7.3):
what lets an old, possibly compromised, key-encryption key leave the keyring.

:class:`Resealer` takes every row of :data:`~consent.evidence.sealed_rows.SEALED_TABLES` sealed
with a key other than the keyring's current one (or only with the keys it is given), opens it,
checks it (:func:`~consent.evidence.sealed_rows.open_row`) and seals the same plaintext anew
under the current key, with the same associated data: what a row opens to never changes.

Batches of :data:`BATCH` rows, one transaction each. Every row is re-read and locked in the
transaction that rewrites it (:func:`~consent.storage.row_lock.read_for_update`), so a
concurrent run, rotation or erasure never loses a write: a row another run
re-sealed first counts as current, an erased one is skipped. A run killed halfway leaves each
row sealed under its old key or under the new one, both open; running again finishes the work,
and a run with nothing left writes nothing.

A row that does not open or fails its check is left exactly as it is and reported (an integrity
breach to investigate, docs/operations.md 7.3); the others are still re-sealed.

Each batch that re-sealed or refused a row appends an ``admin`` event (action ``keys.reseal``,
R16, R19) in its own transaction, last, so the head of the log stays locked only for the commit:
the rewrite and its trace commit together, even in a run killed later. The event names the
table, the current key and per old key the rows re-sealed and refused, never a key, a plaintext
or a row id (the event belongs to no tenant).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.clock import Clock, SystemClock
from consent.evidence.events import AdminEvent
from consent.evidence.log import EvidenceLog
from consent.evidence.sealed_rows import SEALED_TABLES, SealedTable, Unopenable, open_row
from consent.evidence.secrets import Keyring
from consent.storage.database import Database
from consent.storage.row_lock import read_for_update

ACTION = "keys.reseal"
BATCH = 100
#: Rows per table and key id: ``{"documents": {"kek-1a2b3c4d": 12}, ...}``.
Census = dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class Failure:
    """A row left as it is: it does not open, or not to what its row says."""

    table: str
    row_id: str
    kek_id: str
    reason: str


@dataclass
class TableReport:
    """What a run did to one table."""

    resealed: Counter[str] = field(default_factory=Counter)  # per old key id
    current: int = 0
    failed: list[Failure] = field(default_factory=list)
    remaining: dict[str, int] = field(default_factory=dict)  # under an old key, after the run

    def add(self, batch: TableReport) -> None:
        self.resealed.update(batch.resealed)
        self.current += batch.current
        self.failed.extend(batch.failed)


@dataclass
class ResealReport:
    """A run's outcome per table; :attr:`done` when no row is left under a targeted key."""

    current_key: str
    tables: dict[str, TableReport]
    left: dict[str, dict[str, int]]

    @property
    def done(self) -> bool:
        return not any(self.left.values())

    def render(self) -> str:
        lines = []
        for name, table in self.tables.items():
            per_key = ", ".join(f"{k}: {n}" for k, n in sorted(table.resealed.items()))
            lines.append(f"{name}: {sum(table.resealed.values())} re-sealed"
                         f"{f' ({per_key})' if per_key else ''}, {table.current} already "
                         f"current, {len(table.failed)} failed")
        lines += [f"failed  {f.table} {f.row_id} ({f.kek_id}): {f.reason}"
                  for table in self.tables.values() for f in table.failed]
        left = [f"{name} {kek}: {n}" for name, keys in self.left.items()
                for kek, n in sorted(keys.items())]
        lines.append("remaining under an old key: " + ", ".join(left) if left else
                     f"nothing remains under an old key; all sealed with {self.current_key}")
        return "\n".join(lines)


def render_census(census: Census, keyring: Keyring, targeted: frozenset[str]) -> str:
    """A dry run's table: rows per table and key id, and what a run would do with them."""
    lines = []
    for name, keys in census.items():
        for kek, count in sorted(keys.items()):
            fate = ("current" if kek == keyring.current else
                    "left alone" if targeted and kek not in targeted else
                    "to re-seal" if kek in keyring else
                    "to re-seal, but the evidence keyring lacks this key")
            lines.append(f"{name}  {kek}  {count}  {fate}")
    return "\n".join(lines) or "no sealed rows"


class Resealer:
    """Re-seals the rows under old keys (every one but the current, or only ``from_keys``)."""

    def __init__(self, db: Database, keyring: Keyring, log: EvidenceLog, *, actor: str,
                 from_keys: Iterable[str] = (), batch_size: int = BATCH,
                 clock: Clock | None = None) -> None:
        self.db = db
        self.keyring = keyring
        self.log = log
        self.actor = actor
        self.targeted = frozenset(from_keys)
        self.batch_size = batch_size
        self.clock = clock or SystemClock()

    def wants(self, kek_id: str) -> bool:
        """Whether a run re-seals rows sealed with ``kek_id``."""
        return kek_id != self.keyring.current and (not self.targeted or kek_id in self.targeted)

    async def census(self) -> Census:
        """Rows per table and key id; writes nothing (the dry run)."""
        census: Census = {}
        async with self.db.reader.connect() as conn:
            for kind in SEALED_TABLES:
                kek = kind.table.c.kek_id
                rows = await conn.execute(select(kek, func.count()).group_by(kek))
                census[kind.name] = {k: int(n) for k, n in rows}
        return census

    async def run(self) -> ResealReport:
        """Re-seal every wanted row (see the module docstring)."""
        before = await self.census()
        tables = {}
        for kind in SEALED_TABLES:
            report = tables[kind.name] = TableReport(
                current=before[kind.name].get(self.keyring.current, 0))
            after: str | None = None
            while ids := await self._next_ids(kind, after):
                report.add(await self._batch(kind, ids))
                after = ids[-1]
        census = await self.census()
        for kind in SEALED_TABLES:
            tables[kind.name].remaining = {k: n for k, n in census[kind.name].items()
                                           if k != self.keyring.current}
        left = {name: {k: n for k, n in keys.items() if self.wants(k)}
                for name, keys in census.items()}
        return ResealReport(self.keyring.current, tables, left)

    def _pending(self, kind: SealedTable) -> ColumnElement[bool]:
        kek = kind.table.c.kek_id
        old = kek != self.keyring.current
        return and_(old, kek.in_(sorted(self.targeted))) if self.targeted else old

    async def _next_ids(self, kind: SealedTable, after: str | None) -> list[str]:
        """The next batch of wanted rows' ids; a row refused earlier in the run is behind
        ``after``, so it is not tried twice."""
        key = kind.table.c[kind.key]
        query = select(key).where(self._pending(kind)).order_by(key).limit(self.batch_size)
        if after is not None:
            query = query.where(key > after)
        async with self.db.reader.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def _batch(self, kind: SealedTable, ids: list[str]) -> TableReport:
        batch = TableReport()
        async with self.db.engine.begin() as conn:
            for row_id in ids:
                await self._reseal_row(conn, kind, row_id, batch)
            staged = None
            if batch.resealed or batch.failed:
                staged = await self.log.append_in(conn, [self._event(kind, batch).to_log_event()])
        if staged is not None:
            staged.committed()
        return batch

    async def _reseal_row(self, conn: AsyncConnection, kind: SealedTable, row_id: str,
                          batch: TableReport) -> None:
        key = kind.table.c[kind.key]
        row: Any = (await read_for_update(conn, select(*kind.columns()).where(key == row_id))
                    ).first()
        if row is None:
            return  # erased since it was listed (R23)
        if row.kek_id == self.keyring.current:
            batch.current += 1  # another run was first
            return
        if not self.wants(row.kek_id):
            return
        try:
            plaintext = open_row(self.keyring, kind, row)
        except Unopenable as refused:
            batch.failed.append(Failure(kind.name, row_id, row.kek_id, refused.reason))
            return
        sealed = self.keyring.seal(kind.purpose, plaintext, kind.binding(row))
        await conn.execute(update(kind.table).where(key == row_id).values(
            {kind.sealed: sealed.blob, "kek_id": sealed.kek_id}))
        batch.resealed[row.kek_id] += 1

    def _event(self, kind: SealedTable, batch: TableReport) -> AdminEvent:
        return AdminEvent(
            at=self.clock.now(), actor=self.actor, action=ACTION, target=kind.table.name,
            details={"to_key": self.keyring.current, "resealed": dict(batch.resealed),
                     "failed": dict(Counter(f.kek_id for f in batch.failed))})

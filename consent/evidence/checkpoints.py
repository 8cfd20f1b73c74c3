"""Signed checkpoints of the evidence log (c2sp.org/tlog-checkpoint), on demand and periodically.

A checkpoint is the C2SP note ``origin\\nsize\\nbase64(root)\\n`` signed with the operator key
(Ed25519 signed-note signature; the key name is the origin). It is issued from the head row, which
only grows, so two checkpoints of this log are always consistent (tlog-checkpoint §Signatures).
One checkpoint per tree size is stored; asking again at the same size returns the stored one.
Signing a checkpoint fixes the log's origin, as its first append does (:meth:`Checkpoints.issue`).
:func:`issue_periodically` is the task the application schedules (R18).

Before a head is signed, or a stored checkpoint handed out, it is checked against the last head
this instance signed, kept out of the database's reach (:mod:`consent.evidence.witness`): a head
that does not extend it (RFC 9162 §2.1.4 consistency, proven from the database's tree) is a log
rewritten or rolled back under the server, and is refused with :class:`LogForked`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from consent.clock import Clock, SystemClock
from consent.evidence.canonical import format_instant, parse_instant
from consent.evidence.errors import EvidenceUnavailable, LogForked
from consent.evidence.keystore import KeyStore
from consent.evidence.log import EvidenceLog
from consent.evidence.log_reader import LOG_ID
from consent.evidence.log_statements import statement
from consent.evidence.merkle import EMPTY_ROOT, ProofError, verify_consistency
from consent.evidence.notes import Checkpoint, assemble, check_key_name, signature_line
from consent.evidence.tables import CheckpointRow
from consent.evidence.witness import HeadWitness, MemoryHeadWitness, WitnessedHead

CHECKPOINT = CheckpointRow.__table__  # type: ignore[attr-defined]
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A stored checkpoint: the tree head, its signed note, when and with which key."""

    checkpoint: Checkpoint
    note: str
    issued_at: datetime
    kid: str

    @property
    def size(self) -> int:
        return self.checkpoint.size


def _from_row(origin: str, row: Any) -> SignedCheckpoint:
    return SignedCheckpoint(Checkpoint(origin, int(row.size), bytes(row.root)), row.note,
                            parse_instant(row.issued_at), row.kid)


class Checkpoints:
    """Issue and look up the log's signed checkpoints."""

    def __init__(self, log: EvidenceLog, keys: KeyStore, *, clock: Clock | None = None,
                 witness: HeadWitness | None = None) -> None:
        check_key_name(log.default_origin)
        self.log = log
        self.keys = keys
        self.clock = clock or SystemClock()
        self.witness = witness or MemoryHeadWitness()
        self._origin_fixed = False

    async def issue(self) -> SignedCheckpoint:
        """A checkpoint of the current head (the stored one if the log has not grown), under
        the log's origin, which it fixes if nothing did yet."""
        origin = await self.fixed_origin()
        size, root = await self.log.head()
        head = WitnessedHead(origin, size, root, await self._first_key())
        await self._check_witnessed(head)
        stored = await self.at_size(size)
        if stored is not None:
            if stored.checkpoint.root != root:  # the head row and the stored note disagree
                raise self._forked(head, "its stored checkpoint of that size has another root")
            await self.witness.keep(head)
            return stored
        at = self.clock.now()
        text = Checkpoint(origin, size, root).text()
        signature = await self.keys.sign(text.encode(), at=at)
        key = (await self.keys.history()).get(signature.kid)
        if key is None:
            raise EvidenceUnavailable("The signing key is missing from the key history.")
        note = assemble(text, [signature_line(key.note_key(origin), signature.value)])
        try:
            async with self.log.db.engine.begin() as conn:
                await conn.execute(CHECKPOINT.insert().values(
                    size=size, root=root, note=note, issued_at=format_instant(at),
                    kid=signature.kid))
        except IntegrityError:  # another replica signed this size first: keep theirs
            stored = await self.at_size(size)
            if stored is None:
                raise
            if stored.checkpoint.root != root:
                raise self._forked(head, "another process signed that size with another root"
                                   ) from None
            return stored
        finally:
            # Signed: whatever happens next, it is vouched for (with the first key, which this
            # signature may have made).
            await self.witness.keep(head if head.first_key
                                    else replace(head, first_key=await self._first_key()))
        return SignedCheckpoint(Checkpoint(origin, size, root), note, at, signature.kid)

    async def _check_witnessed(self, head: WitnessedHead) -> None:
        """Refuse ``head`` unless it extends the last head this instance signed (module doc).

        A log of another first signing key, or of no entry, beside a witnessed one is a new
        database (a developer's data directory whose database was deleted, then seeded again):
        started afresh, with a warning; an attacker who empties the log or the key table to pass
        for one hides nothing (every anchor kept, every trusted key history shows it). Any
        other log that does not extend the witness is refused."""
        kept = await self.witness.last()
        if kept is None:
            return
        if kept.first_key != head.first_key or (head.size == 0 and kept.size > 0):
            logger.warning("evidence log of another first signing key (%s, the witness's %s) "
                           "or empty where this instance had signed %d entries (%s): a new "
                           "database; its signed-head witness starts afresh",
                           head.first_key or "none yet", kept.first_key or "none", kept.size,
                           kept.origin)
            await self.witness.forget()
            return
        if kept.origin != head.origin:
            raise self._forked(head, f"this instance signed the log {kept.origin!r}")
        if head.size < kept.size:
            raise self._forked(head, f"this instance signed it at {kept.size} entries: "
                               "rolled back")
        try:
            proof = await self.log.consistency_proof(kept.size, head.size)
            verify_consistency(kept.size, head.size, kept.root, head.root, proof)
        except (ProofError, KeyError, EvidenceUnavailable) as exc:
            # KeyError: a tree node missing from the database.
            raise self._forked(head, f"it does not extend the head of {kept.size} entries "
                               f"this instance signed ({exc})") from None

    async def _first_key(self) -> str:
        """The ``kid`` of the log's first signing key, ``""`` while it has none."""
        history = await self.keys.history()
        return history.keys[0].kid if len(history) else ""

    def _forked(self, head: WitnessedHead, why: str) -> LogForked:
        logger.critical("evidence log refused at %d entries: %s; nothing signed "
                        "(docs/operations.md, \"Evidence log forked or rolled back\")",
                        head.size, why)
        return LogForked(f"The evidence log in the database ({head.size} entries) was "
                         f"rewritten or rolled back: {why}. Nothing is signed until an "
                         "operator investigates (docs/operations.md, \"Evidence log forked "
                         "or rolled back\").")

    async def fixed_origin(self) -> str:
        """The log's origin, fixed now if the log has no head row yet.

        A checkpoint names its log: once one is signed under an origin, every later one must
        carry the same, or bundles holding both fail verification. A replica signs one of the
        empty log at start (:meth:`Evidence.open_key`); were the origin fixed only by the first
        append, a process told another public URL (a CLI command) could append first and fix
        another name. So signing creates the head row too, race-free like a first append
        (``ON CONFLICT DO NOTHING``), and whatever origin it holds is the one signed under."""
        if not self._origin_fixed:
            now = format_instant(self.clock.now())

            def create_head(conn: Connection) -> None:
                statement("create_head", conn).run(conn, {
                    "log": LOG_ID, "origin": self.log.default_origin, "root": EMPTY_ROOT,
                    "now": now})

            async with self.log.db.engine.begin() as conn:
                await conn.run_sync(create_head)
            self._origin_fixed = True
        return await self.log.origin()

    async def at_size(self, size: int) -> SignedCheckpoint | None:
        """The stored checkpoint of exactly ``size`` leaves."""
        rows = await self._select(CHECKPOINT.c.size == size)
        return rows[0] if rows else None

    async def latest(self) -> SignedCheckpoint | None:
        """The largest stored checkpoint."""
        rows = await self._select(CHECKPOINT.c.size >= 0, newest=True)
        return rows[0] if rows else None

    async def first_covering(self, indices: list[int], below: int) -> list[SignedCheckpoint]:
        """For each leaf index, the first stored checkpoint that contains it (size > index),
        among checkpoints smaller than ``below``; duplicates removed, by size."""
        found: dict[int, SignedCheckpoint] = {}
        origin = await self.log.origin()
        async with self.log.db.engine.connect() as conn:
            for index in sorted(set(indices)):
                row = (await conn.execute(
                    select(CHECKPOINT).where(CHECKPOINT.c.size > index, CHECKPOINT.c.size < below)
                    .order_by(CHECKPOINT.c.size).limit(1))).first()
                if row is not None:
                    found[int(row.size)] = _from_row(origin, row)
        return [found[size] for size in sorted(found)]

    async def before(self, size: int) -> SignedCheckpoint | None:
        """The largest stored checkpoint smaller than ``size``."""
        rows = await self._select(CHECKPOINT.c.size < size, newest=True)
        return rows[0] if rows else None

    async def _select(self, condition: Any, *, newest: bool = False) -> list[SignedCheckpoint]:
        order = CHECKPOINT.c.size.desc() if newest else CHECKPOINT.c.size
        origin = await self.log.origin()
        async with self.log.db.engine.connect() as conn:
            rows = (await conn.execute(select(CHECKPOINT).where(condition).order_by(order)
                                       .limit(1))).all()
        return [_from_row(origin, row) for row in rows]


async def issue_periodically(checkpoints: Checkpoints, interval: float,
                             stop: asyncio.Event) -> None:
    """Issue a checkpoint every ``interval`` seconds until ``stop`` is set (a failure is logged
    and retried at the next tick, never fatal)."""
    while not stop.is_set():
        try:
            await checkpoints.issue()
        except Exception:
            logger.exception("issuing an evidence checkpoint failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)

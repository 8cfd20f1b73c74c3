"""Retention of usage traces without breaking proofs (R17, calendar in
:mod:`consent.retention_calendar`).

Detailed traces (the ``access`` events) older than ``detail_days`` (31, R17's daily view) lose
their payload: the row keeps its leaf (kind, instant, references, payload hash), so every
inclusion and consistency proof still verifies, and is marked with when and why it was pruned.
In the same transaction their content is kept as counts: one ``retention`` event per consent
(tenant, household, recipient) with the number of accesses per week, dataset and outcome, for
the weeks still in R17's weekly view (an access pruned late, whose week is past that view, is
counted in none: the weekly and monthly views are ``access_count`` rows,
:mod:`consent.access_counts`). A ``retention`` event is itself pruned, whole and without
counts of its own, once every week it counts has left the weekly view:
:data:`COUNTS_POLICY`. The sweep that runs both is :mod:`consent.retention_sweep`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, select, update

from consent.access_events import requests_counted
from consent.evidence.canonical import format_instant, parse_instant
from consent.evidence.events import (
    ACCESS,
    MIN_DETAIL_DAYS,
    PRUNABLE,
    RETENTION,
    LogEvent,
    Refs,
)
from consent.evidence.log_reader import ENTRY
from consent.retention_calendar import DETAIL, WEEKS, Horizons

if TYPE_CHECKING:
    from consent.evidence.service import Evidence

_PAGE = 5000


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Prune payloads of ``kinds`` older than ``detail_days``."""

    detail_days: int = MIN_DETAIL_DAYS
    kinds: tuple[str, ...] = (ACCESS,)
    reason: str = "R17: detailed usage traces are kept 31 days, then only weekly counts"

    def __post_init__(self) -> None:
        # The offline verifier refuses any other pruning as a way of hiding entries.
        if self.detail_days < MIN_DETAIL_DAYS:
            raise ValueError(f"detail_days is at least {MIN_DETAIL_DAYS} (R17)")
        if not set(self.kinds) <= PRUNABLE:
            raise ValueError(f"only {sorted(PRUNABLE)} entries may be pruned")

    def before(self, now: datetime) -> datetime:
        """Entries strictly before this instant are pruned at ``now``."""
        return now - timedelta(days=self.detail_days)


class _PrunedMeanwhile(Exception):
    """Another run pruned part of this page first: this transaction rolls back."""


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What a pruning pass did."""

    before: datetime
    pruned: int
    aggregates: int


#: A ``retention`` event counts accesses more than 31 days old, so its weeks end at most 24 days
#: before it was written: 116 days after that, every one of them has left the 20-week view.
COUNTS_POLICY = RetentionPolicy(
    detail_days=(WEEKS - DETAIL + timedelta(days=7)).days, kinds=(RETENTION,),
    reason="R17: weekly counts are kept while their week is in the 20-week view")


def _key(payload: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    return (payload.get("tenant"), payload.get("consent_id"), payload.get("household_id"),
            payload.get("recipient_id"))


def _counts(rows: Sequence[Row[Any]], horizons: Horizons) -> dict[tuple[Any, ...], Any]:
    """Accesses of ``rows`` per consent key, week, dataset and outcome (weeks still in the
    weekly view only; a summary of refused requests counts each of them,
    :func:`~consent.access_events.requests_counted`); a pruned ``retention`` row counts
    nothing."""
    counts: dict[tuple[Any, ...], dict[str, dict[str, dict[str, int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int))))
    for row in rows:
        bucket = horizons.bucket(parse_instant(row.at)) if row.kind == ACCESS else None
        if bucket is None or bucket.grain != "week":
            continue
        payload = json.loads(row.payload)
        counts[_key(payload)][bucket.start.date().isoformat()][
            str(payload.get("dataset", row.kind))][str(payload.get("outcome", "logged"))] += \
            requests_counted(payload.get("rule"), payload.get("values"))
    return counts


async def prune(evidence: Evidence, policy: RetentionPolicy,
                now: datetime | None = None) -> PruneResult:
    """Count then prune every matching entry older than the policy's horizon at ``now``
    (default: the evidence clock's now)."""
    now = now or evidence.clock.now()
    before = policy.before(now)
    horizons = Horizons.at(now)
    pruned = aggregates = 0
    query = select(ENTRY.c.idx, ENTRY.c.kind, ENTRY.c.at, ENTRY.c.payload).where(
        ENTRY.c.kind.in_(policy.kinds), ENTRY.c.payload.is_not(None),
        ENTRY.c.at < format_instant(before))
    while True:
        async with evidence.log.db.engine.connect() as conn:
            # Oldest first along the partial index of unpruned entries (tables.py): a run
            # never walks the entries earlier runs pruned.
            rows = (await conn.execute(query.order_by(ENTRY.c.at, ENTRY.c.idx)
                                       .limit(_PAGE))).all()
        if not rows:
            break
        events = [LogEvent(RETENTION, now, {
            "reason": policy.reason, "before": format_instant(before),
            "kinds": list(policy.kinds), "first_index": min(r.idx for r in rows),
            "last_index": max(r.idx for r in rows), "weeks": weeks,
        }, Refs(tenant, consent_id, household_id, recipient_id))
            for (tenant, consent_id, household_id, recipient_id), weeks
            in _counts(rows, horizons).items()]
        # The counts and the pruning commit together: a crash in between, or a second run
        # pruning the same page meanwhile, must not count an access twice (or lose it).
        try:
            async with evidence.log.db.engine.begin() as conn:
                done = await conn.execute(
                    update(ENTRY).where(ENTRY.c.idx.in_([r.idx for r in rows]),
                                        ENTRY.c.payload.is_not(None))
                    .values(payload=None, pruned_at=format_instant(now),
                            prune_reason=policy.reason[:200]))
                if done.rowcount != len(rows):
                    raise _PrunedMeanwhile
                staged = await evidence.log.append_in(conn, events)
        except _PrunedMeanwhile:
            continue  # read the page again: what is left of it
        staged.committed()
        aggregates += len(events)
        pruned += len(rows)
    return PruneResult(before, pruned, aggregates)

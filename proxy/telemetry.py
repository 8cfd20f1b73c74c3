"""Gauges that are states of the instance rather than events: sampled in the background.

Every :attr:`~proxy.settings.Settings.telemetry_interval` seconds, :func:`sample` sets

* ``passerelle_upstream_quota_headroom_ratio{source,window}`` from the upstream limiter's
  ledgers, ``source`` naming the DSO application (on PostgreSQL that is the instance's
  headroom, the same on every replica);
* ``passerelle_evidence_log_leaves`` from the evidence log's head row;
* ``passerelle_evidence_checkpoint_timestamp_seconds`` from the newest signed checkpoint.

Both evidence figures are read from the database, so every replica reports the instance's log
whichever replica integrates it. A failed sample is logged and retried at the next tick: a
database blip must never stop the sampler or the replica.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import sqlalchemy as sa

from adapters.quota import UpstreamLimiter
from consent.evidence.tables import CheckpointRow, LogHeadRow
from consent.storage import Database
from proxy.metrics import Metrics

log = logging.getLogger("passerelle.telemetry")

_HEAD: sa.Table = LogHeadRow.__table__  # type: ignore[attr-defined]
_CHECKPOINT: sa.Table = CheckpointRow.__table__  # type: ignore[attr-defined]


async def sample(metrics: Metrics, db: Database, limiter: UpstreamLimiter) -> None:
    """Set every sampled gauge once."""
    for (application, window), (free, limit) in (await limiter.headroom()).items():
        metrics.quota_headroom(application, window, free, limit)
    async with db.engine.connect() as conn:
        size = (await conn.execute(sa.select(sa.func.max(_HEAD.c.size)))).scalar()
        issued = (await conn.execute(sa.select(sa.func.max(_CHECKPOINT.c.issued_at)))).scalar()
    metrics.evidence_log_leaves.set(size or 0)
    if issued:
        metrics.evidence_checkpoint_time.set(datetime.fromisoformat(issued).timestamp())


async def sample_forever(metrics: Metrics, db: Database, limiter: UpstreamLimiter,
                         interval: float) -> None:
    """:func:`sample` every ``interval`` seconds until cancelled."""
    while True:
        try:
            await sample(metrics, db, limiter)
        except Exception:  # logged without a trace's data: the next tick tries again
            log.warning("telemetry sample failed", exc_info=True)
        await asyncio.sleep(interval)

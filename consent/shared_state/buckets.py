"""Token buckets: ``rate`` tokens per second per key, at most ``burst`` saved up.

The per-recipient rate limit of the data API takes one token per request
(:mod:`proxy.data.ratelimit`). :class:`MemoryBuckets` serves one process; :class:`DatabaseBuckets`
keeps each bucket in a row of ``rate_bucket`` and takes a token with **one** atomic
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: refill, decide and take happen under the
row lock PostgreSQL holds for that statement, so two replicas can never both spend the last
token. A recipient therefore gets its rate across the whole instance, not once per replica.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import sqlalchemy as sa

from consent.storage.database import Database

Seconds = Callable[[], float]

#: Buckets idle this long are dropped from memory (they would be full again anyway).
_MAX_BUCKETS = 10_000


@runtime_checkable
class RateBuckets(Protocol):
    """One token bucket per key; see the module docstring."""

    rate: float
    burst: int

    async def take(self, key: str) -> float:
        """Take a token of ``key``: ``0.0`` if taken, else the seconds until one is there."""
        ...


def _validate(rate: float, burst: int) -> None:
    if rate <= 0 or burst < 1:
        raise ValueError("a bucket needs a positive rate and a burst of at least 1")


class MemoryBuckets:
    """:class:`RateBuckets` in this process's memory (``seconds`` defaults to monotonic)."""

    def __init__(self, rate: float, burst: int, *, seconds: Seconds = time.monotonic) -> None:
        _validate(rate, burst)
        self.rate = rate
        self.burst = burst
        self._now = seconds
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)

    async def take(self, key: str) -> float:
        now = self._now()
        tokens, updated = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - updated) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > _MAX_BUCKETS:
            horizon = now - self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > horizon}
        return 0.0


# The refilled level, computed from the row as it was before this statement (every SET
# expression of an UPDATE sees the old row).
_LEVEL = ("LEAST(CAST(:burst AS double precision), rate_bucket.tokens"
          " + GREATEST(0, :now - rate_bucket.updated) * :rate)")
_TAKE = sa.text(f"""
INSERT INTO rate_bucket (bucket, key, tokens, updated, granted)
VALUES (:bucket, :key, :initial, :now, true)
ON CONFLICT (bucket, key) DO UPDATE SET
    tokens = CASE WHEN {_LEVEL} >= 1 THEN {_LEVEL} - 1 ELSE {_LEVEL} END,
    granted = {_LEVEL} >= 1,
    updated = GREATEST(rate_bucket.updated, :now)
RETURNING granted, tokens
""")  # noqa: S608 - only constants are interpolated


class DatabaseBuckets:
    """:class:`RateBuckets` in the ``rate_bucket`` table (PostgreSQL), shared by replicas.

    ``name`` tells limits apart in the table; ``seconds`` is a wall clock (replicas compare
    their readings), ``time.time`` by default.
    """

    def __init__(self, db: Database, name: str, rate: float, burst: int, *,
                 seconds: Seconds = time.time) -> None:
        _validate(rate, burst)
        self.db = db
        self.name = name
        self.rate = rate
        self.burst = burst
        self._now = seconds

    async def take(self, key: str) -> float:
        params = {"bucket": self.name, "key": key, "burst": float(self.burst),
                  "initial": float(self.burst - 1), "rate": self.rate, "now": self._now()}
        async with self.db.relaxed() as conn:
            granted, tokens = (await conn.execute(_TAKE, params)).one()
        return 0.0 if granted else (1.0 - tokens) / self.rate

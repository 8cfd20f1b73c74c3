"""Per-recipient rate limits: a token bucket per recipient, answered with 429 and ``Retry-After``.

This protects Passerelle and the shared upstream quota from one recipient's burst; it is not the
upstream quota itself (see :mod:`adapters.limiter`), which is why a recipient over *its*
limit gets 429 (its fault) while a busy upstream gets 503 (nobody's fault in particular).
"""

from __future__ import annotations

import math
from typing import Any

from consent.errors import PasserelleError
from consent.shared_state import RateBuckets
from consent.shared_state.buckets import MemoryBuckets


class RecipientRateLimited(PasserelleError):
    """The recipient sent more requests than its rate limit allows (RFC 6585 §4)."""

    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` in seconds (RFC 9110 §10.2.3)."""
        return {"Retry-After": str(self.retry_after)}


class RecipientLimits:
    """``rate`` requests per second on average, bursts up to ``burst``, per recipient, kept in
    :class:`~consent.shared_state.RateBuckets` (one bucket per recipient for the whole instance
    on PostgreSQL, per process otherwise)."""

    def __init__(self, buckets: RateBuckets) -> None:
        self.buckets = buckets

    @classmethod
    def in_memory(cls, rate: float, burst: int) -> RecipientLimits:
        """Limits of one process (tests, SQLite instances)."""
        return cls(MemoryBuckets(rate, burst))

    async def close(self) -> None:
        """Finish the buckets' background work (at shutdown, before the database goes)."""
        await self.buckets.close()

    async def check(self, recipient: str) -> None:
        """Take one token for ``recipient`` or raise :class:`RecipientRateLimited`."""
        wait = await self.buckets.take(recipient)
        if wait > 0:
            rate, burst = self.buckets.rate, self.buckets.burst
            raise RecipientRateLimited(
                f"Rate limit of {rate:g} requests per second (bursts of {burst}) "
                "exceeded; retry later.", retry_after=max(1, math.ceil(wait)))

"""Per-recipient rate limits: a token bucket per recipient, answered with 429 and ``Retry-After``.

This protects Passerelle and the shared upstream quota from one recipient's burst; it is not the
upstream quota itself (see :mod:`proxy.upstream.limiter`), which is why a recipient over *its*
limit gets 429 (its fault) while a busy upstream gets 503 (nobody's fault in particular).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from consent.errors import PasserelleError


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
    """``rate`` requests per second on average, bursts up to ``burst``, per recipient."""

    def __init__(self, rate: float, burst: int, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._now = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # recipient -> (tokens, updated)

    def check(self, recipient: str) -> None:
        """Take one token for ``recipient`` or raise :class:`RecipientRateLimited`."""
        now = self._now()
        tokens, updated = self._buckets.get(recipient, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
        if tokens < 1.0:
            self._buckets[recipient] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / self.rate)
            raise RecipientRateLimited(
                f"Rate limit of {self.rate:g} requests per second (bursts of {self.burst}) "
                "exceeded; retry later.", retry_after=max(1, wait))
        self._buckets[recipient] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:  # forget idle recipients (their buckets are full)
            horizon = now - self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > horizon}

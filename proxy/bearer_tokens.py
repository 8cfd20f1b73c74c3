"""Access-token records for the data API, remembered between requests (R6 still per request).

:class:`BearerTokens` finds a presented token's :class:`~consent.bearer.BearerRecord` by its
SHA-256 digest: from a :class:`~consent.snapshots.SnapshotCache` when it holds it, else with
one Core read (two for a consent-bound token). The cache forgets on every committed write to
tokens, recipients or consents (here synchronously, on other replicas through the bus) and
after ``ttl`` seconds at most; what can change with time alone (expiry, the consent's access
period) is decided on each use by :meth:`~consent.bearer.BearerRecord.refusal`, never cached.
Unknown tokens are not remembered (a flood of made-up tokens cannot fill memory).
"""

from __future__ import annotations

from consent.bearer import BearerRecord, load_bearer
from consent.invalidation import FACTS, TOKENS, InvalidationBus
from consent.snapshots import SnapshotCache
from consent.storage import Database
from consent.tokens import digest


class BearerTokens:
    """See the module docstring. ``ttl <= 0``: read the database on every request."""

    def __init__(self, db: Database, bus: InvalidationBus, *, ttl: float) -> None:
        self.db = db
        self.cache: SnapshotCache[str, BearerRecord] = SnapshotCache(bus, {TOKENS, FACTS},
                                                                     ttl=ttl)

    async def close(self) -> None:
        """Let the cache's reads in flight end (before the database is disposed of)."""
        await self.cache.close()

    def generation(self) -> int | None:
        """Changes whenever a write to tokens or to what they depend on is heard of; ``None``
        when nothing can be known that way (the bus unhealthy, or the cache off)."""
        healthy = self.cache.ttl > 0 and self.cache.bus.healthy
        return self.cache.generation() if healthy else None

    async def find(self, raw_token: str) -> BearerRecord | None:
        """The record of ``raw_token`` (maybe revoked or expired), ``None`` if unknown."""
        key = digest(raw_token)

        async def load() -> BearerRecord | None:
            async with self.db.reader.connect() as conn:
                return await load_bearer(conn, key)

        return await self.cache.fetch(key, load)

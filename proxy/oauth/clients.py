"""Registered clients (recipients) by ``client_id``, remembered between token requests.

Every token, revocation and introspection request names its client; reading the recipient row
each time cost the token endpoint a database session of its own (about a millisecond on
SQLite: a pool check-out and several driver round trips) before authlib could even check the
secret. :class:`RegisteredClients` keeps the rows in a :class:`~consent.snapshots.SnapshotCache`
with the same guarantees as the data path's verified tokens: any committed write to the
``recipient`` table (a secret rotated, a client suspended or removed, a redirect URI changed)
reaches the cache through the change feed before the writer's code goes on, and other
replicas within a second through the invalidation bus; while the bus may be missing messages
the cache neither serves nor stores; entries live ``ttl`` seconds at most. So a suspended
client is refused from its next request on, as before (R6). Unknown client ids are not
remembered: a flood of made-up ids cannot fill memory.

The rows handed out are shared between concurrent requests: read them, never change them (the
OAuth code reads a recipient's id, tenant, state, secret digest and redirect URIs only).
"""

from __future__ import annotations

from sqlmodel import select

from consent.invalidation import FACTS, InvalidationBus
from consent.models import Recipient
from consent.snapshots import SnapshotCache
from consent.storage import Database

#: Longer client ids are never registered (the column's width): no need to look them up.
MAX_CLIENT_ID = 64


class RegisteredClients:
    """See the module docstring. ``ttl <= 0``: read the database on every request."""

    def __init__(self, db: Database, bus: InvalidationBus, *, ttl: float) -> None:
        self.db = db
        # ALL (any write to a table the change feed does not know, recipients included) is
        # always among a cache's topics; FACTS is dropped with consent-side changes as well.
        self.cache: SnapshotCache[str, Recipient] = SnapshotCache(bus, {FACTS}, ttl=ttl)

    async def close(self) -> None:
        """Let the cache's reads in flight end (before the database is disposed of)."""
        await self.cache.close()

    async def find(self, client_id: str | None) -> Recipient | None:
        """The recipient registered as ``client_id`` (in any state), ``None`` if there is none."""
        if not client_id or len(client_id) > MAX_CLIENT_ID or not client_id.isprintable():
            return None  # never registered (ids are printable ASCII): no need to ask

        async def load() -> Recipient | None:
            async with self.db.session() as session:
                result = await session.exec(select(Recipient)
                                            .where(Recipient.client_id == client_id))
                return result.first()

        return await self.cache.fetch(client_id, load)

"""Telling every replica that what it remembers from the database may be stale.

Hot-path caches (verified tokens, consent facts: :mod:`consent.snapshots`) are only correct if
every write that could change an answer reaches them before the next request is decided (R6:
a withdrawn consent or a revoked token is refused from the next request on). An
:class:`InvalidationBus` carries *topics* to subscribers:

* in this process, synchronously, through :meth:`InvalidationBus.deliver`: the database's
  change feed (:mod:`consent.storage.change_feed`) calls it right after every commit that wrote
  a table the caches read, before the writer's code goes on;
* to every other replica within about a second, through :meth:`InvalidationBus.publish` or,
  for database writes, through the transactional ``NOTIFY`` the change feed emits on
  PostgreSQL (:class:`consent.storage.pg_bus.PostgresBus` listens).

A subscriber is a plain callable run synchronously on the event loop: it must be cheap (drop a
dictionary, bump a counter) and must not raise. A topic is a short name; :data:`ALL` means
"everything may be stale". :attr:`InvalidationBus.healthy` is ``False`` while the bus may be
missing other replicas' messages (a PostgreSQL listener not connected): a cache must then
neither serve nor store (:class:`~consent.snapshots.SnapshotCache` checks it on each use).

:class:`LocalBus` serves one process (SQLite, tests); it is always healthy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol, runtime_checkable

log = logging.getLogger("passerelle.invalidation")

#: Every cached read may be stale (any write the change feed cannot narrow down).
ALL = "*"
#: Access-token rows changed (revoked, used, deleted): verified tokens may be stale.
TOKENS = "tokens"
#: Consent facts changed (consents, their points, occupancy, upstream authorisations...).
FACTS = "facts"

#: Called with the topic of each message.
Subscriber = Callable[[str], None]


@runtime_checkable
class InvalidationBus(Protocol):
    """Carries invalidation topics to every subscriber of every replica (module docstring)."""

    @property
    def healthy(self) -> bool:
        """``False`` while messages from other replicas may be missed: trust no cache."""
        ...

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber(topic)`` for every message, local or remote, from now on."""
        ...

    def deliver(self, topic: str) -> None:
        """Give ``topic`` to this process's subscribers now (synchronously), not to others."""
        ...

    async def publish(self, topic: str) -> None:
        """Give ``topic`` to this process's subscribers before returning, and to every other
        replica's soon after (within about a second)."""
        ...

    async def start(self) -> None:
        """Begin listening to other replicas (no-op for a single process)."""
        ...

    async def close(self) -> None:
        """Stop listening; the bus is unhealthy afterwards."""
        ...


class Fanout:
    """What every bus shares: its subscribers, each called with every message delivered here;
    one failing subscriber never starves the others."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber(topic)`` for every message, local or remote, from now on."""
        self._subscribers.append(subscriber)

    def deliver(self, topic: str) -> None:
        """Give ``topic`` to this process's subscribers now (synchronously)."""
        for subscriber in self._subscribers:
            try:
                subscriber(topic)
            except Exception:  # a broken subscriber is a bug; the others must still hear
                log.exception("invalidation subscriber failed on %r", topic)


class LocalBus(Fanout):
    """The bus of a single process: delivery is immediate and nothing can be missed."""

    def __init__(self) -> None:
        super().__init__()
        self._closed = False

    @property
    def healthy(self) -> bool:
        return not self._closed

    async def publish(self, topic: str) -> None:
        self.deliver(topic)

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True

"""A short-lived, bus-invalidated memory of database reads for the hot path.

:class:`SnapshotCache` keeps values read from the database (a verified token's rows, a
consent's facts) so that a request does not read them again, and forgets them:

* on every message of its topics on the :class:`~consent.invalidation.InvalidationBus` (a
  commit in this process, synchronously; a commit on another replica, within about a second);
* after ``ttl`` seconds whatever happens: a safety net for writers the bus cannot hear (an
  operator's manual SQL, a command-line process on SQLite);
* whenever the bus is unhealthy: then nothing is served from memory nor stored.

A value is stored only if no invalidation happened while it was being read
(:meth:`SnapshotCache.generation` before the read, :meth:`SnapshotCache.put` with it after), so
a read that raced a revocation never re-caches the old rows. :meth:`SnapshotCache.fetch` does
all that and shares one read among the requests that miss the same key at the same time (so an
expiry under load costs one query, not one per request in flight); a request arriving after an
invalidation never joins a read started before it. A value used in the second half of its
lifetime is read again in the background while it is served (refresh ahead), so a key in
steady use never makes a request wait for the database. That read starts ``refresh_delay``
(20 ms) after the request that asked for it: started at once, its statement's CPU fell within
that request's own answer (its next ``await`` is the DSO call) and was on its latency; 20 ms
later the request has been answered and, under moderate load, the loop is idle (interleaved
A/B at 25 req/s, 5 s lifetime: p99 -1.2 to -2.0 ms, see ``bench/README.md``). The entry it
replaces has half its life left, so the delay costs nothing. Values must not depend on the
instant of the request: callers cache rows and decide (expiry, access period) per request.

:meth:`SnapshotCache.close` (at shutdown, before the database is disposed) cancels the reads
not started yet and lets those in flight end.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from consent.invalidation import ALL, InvalidationBus
from consent.shared_state.background import AFTER_REQUEST, finish

#: How long after a request a refresh ahead it asked for starts (see the module docstring).
REFRESH_DELAY = AFTER_REQUEST

K = TypeVar("K")
V = TypeVar("V")


class SnapshotCache(Generic[K, V]):
    """See the module docstring. ``ttl <= 0`` turns the cache off (every read is a miss);
    ``refresh_delay`` is capped at a quarter of ``ttl``, so a refresh always lands in time."""

    def __init__(self, bus: InvalidationBus, topics: Iterable[str], *, ttl: float,
                 max_entries: int = 100_000, refresh_delay: float = REFRESH_DELAY,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.bus = bus
        self.topics = frozenset({ALL, *topics})
        self.ttl = ttl
        self.max_entries = max_entries
        self.refresh_delay = max(0.0, min(refresh_delay, ttl / 4))
        self._monotonic = monotonic
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Task[V | None]] = {}
        self._running: set[asyncio.Task[V | None]] = set()  # every load not ended, for close()
        self._scheduled: dict[K, asyncio.TimerHandle] = {}
        self._closed = False
        self._generation = 0
        self.hits = 0
        self.misses = 0
        bus.subscribe(self._message)

    def get(self, key: K) -> V | None:
        """The value stored under ``key`` if it is still trustworthy, else ``None``."""
        entry = self._entries.get(key)
        if entry is not None:
            if self._monotonic() < entry[0] and self.bus.healthy:
                self.hits += 1
                return entry[1]
            del self._entries[key]
        self.misses += 1
        return None

    def generation(self) -> int:
        """Take before reading the database; give to :meth:`put` afterwards."""
        return self._generation

    def put(self, key: K, value: V, generation: int) -> None:
        """Store ``value`` unless an invalidation happened since ``generation`` was taken."""
        if self.ttl <= 0 or generation != self._generation or not self.bus.healthy:
            return
        now = self._monotonic()
        # Entries are kept in expiry order (one lifetime for all; a key stored again moves to
        # the end), so what has expired is at the front: dropping it on every store keeps the
        # cache at what was read in the last lifetime, not at ``max_entries`` of dead values.
        self._entries.pop(key, None)
        for oldest in list(itertools.islice(self._entries, 64)):
            if self._entries[oldest][0] > now:
                break
            del self._entries[oldest]
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[key] = (now + self.ttl, value)

    async def fetch(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The value of ``key``: from memory, else from ``load()`` (``None``: not stored).

        Concurrent misses of one key share one ``load()``; it runs in a task of its own, so a
        request that is cancelled does not cancel it for the others.
        """
        value = self.get(key)
        if value is not None:
            if self._entries[key][0] - self._monotonic() < self.ttl / 2:
                self._refresh_ahead(key, load)  # this request does not wait
            return value
        return await asyncio.shield(self._start_load(key, load))

    def _refresh_ahead(self, key: K, load: Callable[[], Awaitable[V | None]]) -> None:
        """Read ``key`` again :attr:`refresh_delay` from now, unless already due or loading."""
        if self._closed or key in self._loading or key in self._scheduled:
            return
        if self.refresh_delay <= 0:
            self._start_load(key, load)
            return

        def start() -> None:
            del self._scheduled[key]
            self._start_load(key, load)

        self._scheduled[key] = asyncio.get_running_loop().call_later(self.refresh_delay, start)

    def _start_load(self, key: K, load: Callable[[], Awaitable[V | None]]
                    ) -> asyncio.Task[V | None]:
        task = self._loading.get(key)
        if task is None:
            due = self._scheduled.pop(key, None)
            if due is not None:  # a miss reads the key now: its refresh due would read it twice
                due.cancel()
            task = asyncio.create_task(self._load(key, load, self._generation))
            task.add_done_callback(_retrieve)  # an error nobody waits for any more is not lost
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            self._loading[key] = task
        return task

    async def _load(self, key: K, load: Callable[[], Awaitable[V | None]],
                    generation: int) -> V | None:
        try:
            value = await load()
        finally:
            if self._loading.get(key) is asyncio.current_task():
                del self._loading[key]
        if value is not None:
            self.put(key, value, generation)
        return value

    def clear(self) -> None:
        """Forget everything, and make reads in progress unable to store or be joined."""
        self._generation += 1
        self._entries.clear()
        self._loading.clear()
        self._cancel_scheduled()  # what they would read is read on the key's next use

    async def close(self) -> None:
        """Start no more refreshes; let the reads in flight end (cancelled after
        :data:`~consent.shared_state.background.FINISH_WAIT`). Call at shutdown, before
        disposing of the database they read."""
        self._closed = True
        self._cancel_scheduled()
        await finish(set(self._running))

    def _cancel_scheduled(self) -> None:
        for handle in self._scheduled.values():
            handle.cancel()
        self._scheduled.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _message(self, topic: str) -> None:
        if topic in self.topics:
            self.clear()


def _retrieve(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()

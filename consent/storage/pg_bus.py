"""The invalidation bus of replicas sharing one PostgreSQL database: ``LISTEN``/``NOTIFY``.

:class:`PostgresBus` keeps one dedicated asyncpg connection that ``LISTEN`` s on
:data:`~consent.storage.change_feed.CHANNEL` (``connection.add_listener``). Database writes
announce themselves with a transactional ``pg_notify`` (the change feed), so a withdrawal
committed on replica A reaches replica B's caches a few milliseconds later; messages that
originate from this replica's own database handle are skipped (they were delivered locally,
synchronously, already).

Each message carries the time it was sent; ``delay_observer`` (the
``passerelle_revocation_propagation_seconds`` histogram) gets the delay of every message heard
from another replica (clocks of replicas are assumed NTP-synchronised).

Health: the bus is healthy only while its listener connection is up *and* answered a heartbeat
within :attr:`PostgresBus.stale_after` seconds (a silently dead TCP connection would otherwise
look connected while missing messages). Whenever it (re)connects it delivers
:data:`~consent.invalidation.ALL` before calling itself healthy, since messages sent while it
was away are lost. Unhealthy means caches neither serve nor store, so a replica cut off from
the bus falls back to reading the database on every request: slower, never stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from consent.invalidation import ALL, Fanout
from consent.storage.change_feed import CHANNEL, ChangeFeed

log = logging.getLogger("passerelle.invalidation")

#: Longest pause between two reconnection attempts (s).
MAX_RETRY = 5.0
#: How the listener's session shows in ``pg_stat_activity``.
APPLICATION_NAME = "passerelle-invalidation"


class PostgresBus(Fanout):
    """See the module docstring. ``feed`` is this replica's database change feed."""

    def __init__(self, dsn: str, feed: ChangeFeed, *, heartbeat: float = 0.4,
                 stale_after: float = 1.0, retry: float = 0.5,
                 delay_observer: Callable[[float], None] | None = None) -> None:
        super().__init__()
        self.dsn = dsn
        self.feed = feed
        self.delay_observer = delay_observer
        self.heartbeat = heartbeat
        self.stale_after = stale_after
        self.retry = retry
        self._conn: asyncpg.Connection[Any] | None = None
        self._alive_until = 0.0
        self._lock = asyncio.Lock()
        self._keeper: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    @property
    def healthy(self) -> bool:
        return (self._conn is not None and not self._conn.is_closed()
                and time.monotonic() < self._alive_until)

    async def publish(self, topic: str) -> None:
        self.deliver(topic)
        async with self._lock:
            conn = self._conn
            if conn is None or conn.is_closed():
                # Others will not hear it now; they will flush everything on reconnecting,
                # or, if their own listener is fine, the writer should have used the database
                # (whose NOTIFY is transactional). Say so rather than pretend.
                raise ConnectionError("the invalidation bus is not connected")
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, self.feed.payload(topic))

    async def start(self) -> None:
        """Connect and listen. If the database cannot be reached now, the bus stays unhealthy
        (caches bypassed) and keeps trying: a replica starts, and is live, without it."""
        try:
            await self._connect()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("invalidation listener not connected yet (%s); retrying", exc)
        self._keeper = asyncio.create_task(self._keep(), name="invalidation-listener")

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        await self._drop()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn,
                                     server_settings={"application_name": APPLICATION_NAME})
        await conn.add_listener(CHANNEL, self._heard)
        conn.add_termination_listener(self._terminated)
        async with self._lock:
            self._conn = conn
        self.deliver(ALL)  # whatever was sent while we were not listening is lost
        self._alive_until = time.monotonic() + self.stale_after

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        topic, origin, sent = [*payload.split(" "), "", ""][:3]
        if origin == self.feed.origin:
            return
        self.deliver(topic)
        if self.delay_observer is not None:
            with contextlib.suppress(ValueError):
                self.delay_observer(max(0.0, time.time() - float(sent)))

    def _terminated(self, _conn: Any) -> None:
        self._alive_until = 0.0

    async def _drop(self) -> None:
        self._alive_until = 0.0
        async with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def _keep(self) -> None:
        """Heartbeat the listener; reconnect (and flush everything) when it fails, backing off
        up to :data:`MAX_RETRY` seconds; one warning per outage, not per attempt."""
        failures = 0
        while True:
            try:
                if self._conn is None or self._conn.is_closed():
                    await self._drop()
                    await self._connect()
                    if failures:
                        log.warning("invalidation listener reconnected")
                async with self._lock:
                    assert self._conn is not None
                    await self._conn.fetchval("SELECT 1", timeout=self.stale_after)
                self._alive_until = time.monotonic() + self.stale_after
                failures = 0
                await asyncio.sleep(self.heartbeat)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # down: unhealthy until a reconnect succeeds
                if not failures:
                    log.warning("invalidation listener lost (%s); reconnecting", exc)
                await self._drop()
                await asyncio.sleep(min(MAX_RETRY, self.retry * 2 ** failures))
                failures += 1

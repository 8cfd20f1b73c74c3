"""Attempt counters: at most ``limit`` attempts per key in any ``window`` (sliding).

The login throttle counts failed sign-ins per account and per client address with two of these
(:mod:`proxy.web.ratelimit`). :class:`MemoryAttempts` serves one process (SQLite instances);
:class:`DatabaseAttempts` keeps the attempts in the ``throttle_attempt`` table so that every
replica sees every failure: an attacker spreading guesses over replicas gets one budget, not one
per replica. Keys are stored as SHA-256 digests (usernames and addresses are personal data) and
rows older than the window are deleted as new ones arrive.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import sqlalchemy as sa

from consent.clock import Clock
from consent.shared_state.tables import ThrottleAttempt
from consent.storage.database import Database

#: Oldest keys are forgotten beyond this many (memory), so a flood cannot exhaust memory.
MAX_KEYS = 100_000
#: The database counter sweeps every expired row of its counter once per this many records.
SWEEP_EVERY = 256

_TABLE: sa.Table = ThrottleAttempt.__table__  # type: ignore[attr-defined]


@runtime_checkable
class AttemptCounter(Protocol):
    """At most ``limit`` attempts per key within any interval of ``window``."""

    limit: int
    window: timedelta

    async def retry_after(self, key: str) -> timedelta | None:
        """How long ``key`` must wait before its next attempt counts as allowed, or ``None``."""
        ...

    async def record(self, key: str) -> None:
        """Count one attempt of ``key`` now."""
        ...

    async def clear(self, key: str) -> None:
        """Forget every attempt of ``key``."""
        ...


def _wait(recent: list[datetime], limit: int, window: timedelta,
          now: datetime) -> timedelta | None:
    """``recent`` holds the attempts inside the window, newest first."""
    if len(recent) < limit:
        return None
    return recent[limit - 1] + window - now  # when the limit-th newest leaves the window


class MemoryAttempts:
    """An :class:`AttemptCounter` in this process's memory."""

    def __init__(self, limit: int, window: timedelta, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: OrderedDict[str, deque[datetime]] = OrderedDict()

    async def retry_after(self, key: str) -> timedelta | None:
        now = self.clock.now()
        return _wait(list(reversed(self._prune(key, now))), self.limit, self.window, now)

    async def record(self, key: str) -> None:
        now = self.clock.now()
        self._prune(key, now).append(now)
        self._events.move_to_end(key)
        while len(self._events) > MAX_KEYS:
            self._events.popitem(last=False)

    async def clear(self, key: str) -> None:
        self._events.pop(key, None)

    def _prune(self, key: str, now: datetime) -> deque[datetime]:
        events = self._events.setdefault(key, deque())
        horizon = now - self.window
        while events and events[0] <= horizon:
            events.popleft()
        return events


class DatabaseAttempts:
    """An :class:`AttemptCounter` in the ``throttle_attempt`` table, shared by replicas.

    ``name`` tells counters apart in the table (``login-account``, ``login-address``).
    """

    def __init__(self, db: Database, name: str, limit: int, window: timedelta,
                 clock: Clock) -> None:
        self.db = db
        self.name = name
        self.limit = limit
        self.window = window
        self.clock = clock
        self._records = 0

    def _digest(self, key: str) -> str:
        return hashlib.sha256(f"{self.name}|{key}".encode()).hexdigest()

    async def retry_after(self, key: str) -> timedelta | None:
        now = self.clock.now()
        t = _TABLE.c
        query = (sa.select(t.at).where(t.counter == self.name, t.key == self._digest(key),
                                       t.at > now - self.window)
                 .order_by(t.at.desc()).limit(self.limit))
        async with self.db.engine.connect() as conn:
            recent = list((await conn.execute(query)).scalars())
        return _wait(recent, self.limit, self.window, now)

    async def record(self, key: str) -> None:
        now = self.clock.now()
        digest, t = self._digest(key), _TABLE.c
        self._records += 1
        stale = t.at <= now - self.window
        scope = (t.counter == self.name) if self._records % SWEEP_EVERY == 0 else (
            (t.counter == self.name) & (t.key == digest))
        async with self.db.relaxed() as conn:
            await conn.execute(sa.delete(_TABLE).where(scope, stale))
            await conn.execute(sa.insert(_TABLE).values(counter=self.name, key=digest, at=now))

    async def clear(self, key: str) -> None:
        t = _TABLE.c
        async with self.db.relaxed() as conn:
            await conn.execute(sa.delete(_TABLE).where(t.counter == self.name,
                                                       t.key == self._digest(key)))

"""Attempt counters: at most ``limit`` attempts per key in any ``window`` (sliding).

The login throttle counts sign-in attempts per account and per client address with two of these
(:mod:`proxy.web.ratelimit`), the portal its proof forms' guesses. :class:`MemoryAttempts`
serves one process (SQLite instances); :class:`DatabaseAttempts` keeps the attempts in the
``throttle_attempt`` table so that every replica sees every attempt: an attacker spreading
guesses over replicas gets one budget, not one per replica. Keys are stored as SHA-256 digests
(usernames and addresses are personal data) and rows older than the window are deleted as new
ones arrive.

**Reserve, then check.** A guard that asks :meth:`~AttemptCounter.retry_after`, checks a
password (argon2id: tens of milliseconds in a thread) or asks a DSO, and only then records the
failure lets every request of a concurrent burst pass before any is counted: 40 parallel
guesses all checked against a limit of 5 (OWASP ASVS 4.0 V2.2.1 asks for a limit that holds).
:meth:`~AttemptCounter.reserve` counts the attempt and compares the count *in one step* (memory:
no ``await`` between them, so no other task runs; PostgreSQL: one transaction under an advisory
lock of the key, so replicas take turns), before the proof is checked; at most ``limit``
attempts per window are ever checked, whatever the concurrency. The caller gives back what was
not a guess (:meth:`~AttemptCounter.release`: a success, a DSO that did not answer).
"""

from __future__ import annotations

import hashlib
import itertools
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.clock import Clock
from consent.shared_state.tables import ThrottleAttempt
from consent.storage.database import Database

#: Oldest keys are forgotten beyond this many (memory), so a flood cannot exhaust memory.
MAX_KEYS = 100_000
#: The database counter sweeps every expired row of its counter once per this many records.
SWEEP_EVERY = 256

#: First key of the two-key advisory locks of :meth:`DatabaseAttempts.reserve` (the second is
#: the counted key's digest): the two-key space is apart from the one-key migration lock.
LOCK_CLASS = 0x7468  # "th"

_TABLE: sa.Table = ThrottleAttempt.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Reservation:
    """What :meth:`AttemptCounter.reserve` answered for ``key``: counted (``wait`` is
    ``None``; ``ticket`` names the attempt for :meth:`~AttemptCounter.release`) or refused,
    nothing counted (``wait``: how long until one more attempt may count)."""

    key: str
    ticket: int | None
    wait: timedelta | None

    @property
    def granted(self) -> bool:
        """Whether the attempt was counted and may go on to be checked."""
        return self.wait is None


@runtime_checkable
class AttemptCounter(Protocol):
    """At most ``limit`` attempts per key within any interval of ``window``."""

    limit: int
    window: timedelta

    async def retry_after(self, key: str) -> timedelta | None:
        """How long ``key`` must wait before its next attempt counts as allowed, or ``None``."""
        ...

    async def record(self, key: str) -> None:
        """Count one attempt of ``key`` now, whatever the count (a failure checked elsewhere)."""
        ...

    async def reserve(self, key: str) -> Reservation:
        """Count one attempt of ``key`` now if fewer than ``limit`` are in the window, in one
        step with the comparison (module docstring); otherwise count nothing."""
        ...

    async def release(self, reservation: Reservation) -> None:
        """Uncount the attempt ``reservation`` counted (nothing if it was refused or its key
        cleared since)."""
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
    """An :class:`AttemptCounter` in this process's memory (one event loop: a method that does
    not ``await`` runs whole, so :meth:`reserve` is one step)."""

    def __init__(self, limit: int, window: timedelta, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: OrderedDict[str, deque[tuple[datetime, int]]] = OrderedDict()
        self._tickets = itertools.count(1)

    async def retry_after(self, key: str) -> timedelta | None:
        now = self.clock.now()
        return self._wait(key, now)

    async def record(self, key: str) -> None:
        self._count(key, self.clock.now())

    async def reserve(self, key: str) -> Reservation:
        now = self.clock.now()
        wait = self._wait(key, now)
        if wait is not None:
            return Reservation(key, None, wait)
        return Reservation(key, self._count(key, now), None)

    async def release(self, reservation: Reservation) -> None:
        events = self._events.get(reservation.key)
        if events is not None and reservation.ticket is not None:
            for event in events:
                if event[1] == reservation.ticket:
                    events.remove(event)
                    break

    async def clear(self, key: str) -> None:
        self._events.pop(key, None)

    def _wait(self, key: str, now: datetime) -> timedelta | None:
        recent = [at for at, _ticket in reversed(self._prune(key, now))]
        return _wait(recent, self.limit, self.window, now)

    def _count(self, key: str, now: datetime) -> int:
        ticket = next(self._tickets)
        self._prune(key, now).append((now, ticket))
        self._events.move_to_end(key)
        while len(self._events) > MAX_KEYS:
            self._events.popitem(last=False)
        return ticket

    def _prune(self, key: str, now: datetime) -> deque[tuple[datetime, int]]:
        events = self._events.setdefault(key, deque())
        horizon = now - self.window
        while events and events[0][0] <= horizon:
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

    def _recent(self, digest: str, now: datetime) -> sa.Select[Any]:
        """The newest ``limit`` attempts of ``digest`` inside the window, newest first."""
        t = _TABLE.c
        return (sa.select(t.at).where(t.counter == self.name, t.key == digest,
                                      t.at > now - self.window)
                .order_by(t.at.desc()).limit(self.limit))

    async def retry_after(self, key: str) -> timedelta | None:
        now = self.clock.now()
        async with self.db.engine.connect() as conn:
            recent = list((await conn.execute(self._recent(self._digest(key), now))).scalars())
        return _wait(recent, self.limit, self.window, now)

    async def reserve(self, key: str) -> Reservation:
        """Under a transaction-scoped advisory lock of the key, so that of two replicas
        reserving at once the second counts after the first committed (READ COMMITTED: each
        statement sees what committed before it began)."""
        now = self.clock.now()
        digest, t = self._digest(key), _TABLE.c
        async with self.db.relaxed() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:class, :key)"),
                               {"class": LOCK_CLASS, "key": _lock_key(digest)})
            recent = list((await conn.execute(self._recent(digest, now))).scalars())
            wait = _wait(recent, self.limit, self.window, now)
            if wait is not None:
                return Reservation(key, None, wait)
            await self._sweep(conn, digest, now)
            ticket = (await conn.execute(sa.insert(_TABLE).values(
                counter=self.name, key=digest, at=now).returning(t.id))).scalar_one()
        return Reservation(key, int(ticket), None)

    async def release(self, reservation: Reservation) -> None:
        if reservation.ticket is None:
            return
        t = _TABLE.c
        async with self.db.relaxed() as conn:
            await conn.execute(sa.delete(_TABLE).where(t.counter == self.name,
                                                       t.id == reservation.ticket))

    async def record(self, key: str) -> None:
        now = self.clock.now()
        digest = self._digest(key)
        async with self.db.relaxed() as conn:
            await self._sweep(conn, digest, now)
            await conn.execute(sa.insert(_TABLE).values(counter=self.name, key=digest, at=now))

    async def _sweep(self, conn: AsyncConnection, digest: str, now: datetime) -> None:
        """Delete the key's attempts older than the window; every :data:`SWEEP_EVERY` counts,
        the whole counter's."""
        t = _TABLE.c
        self._records += 1
        scope = (t.counter == self.name) if self._records % SWEEP_EVERY == 0 else (
            (t.counter == self.name) & (t.key == digest))
        await conn.execute(sa.delete(_TABLE).where(scope, t.at <= now - self.window))

    async def clear(self, key: str) -> None:
        t = _TABLE.c
        async with self.db.relaxed() as conn:
            await conn.execute(sa.delete(_TABLE).where(t.counter == self.name,
                                                       t.key == self._digest(key)))


def _lock_key(digest: str) -> int:
    """A signed 32-bit advisory-lock key from a hex digest (two keys sharing one only wait
    for each other a little)."""
    return int.from_bytes(bytes.fromhex(digest[:8]), "big", signed=True)

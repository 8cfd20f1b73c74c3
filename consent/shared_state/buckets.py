"""Token buckets: ``rate`` tokens per second per key, at most ``burst`` saved up.

The per-recipient rate limit of the data API takes one token per request
(:mod:`proxy.data.ratelimit`). :class:`MemoryBuckets` serves one process; :class:`DatabaseBuckets`
keeps each bucket in a row of ``rate_bucket`` and takes tokens with **one** atomic
``UPDATE ... FROM (SELECT ... FOR UPDATE) ... RETURNING``: refill, decide and take happen under
the row lock PostgreSQL holds for that statement, so two replicas can never both spend the last
token. A recipient therefore gets its rate across the whole instance, not once per replica.
The refill is measured on the database's clock, read in the statement
(:data:`~consent.shared_state.quota.DB_NOW`): a replica whose clock ran ahead would otherwise
refill every bucket it touches by its lead.

A statement per request is a round trip and a transaction on every data request, which costs
more than the rest of the request's checks together. :class:`LeasedBuckets` (what replicas use)
takes a recipient's tokens from the shared bucket a few at a time
(:meth:`DatabaseBuckets.take_up_to`: at most a tenth of a second of its rate and a quarter of
its burst) and spends them locally while the recipient keeps asking (a lease not used for
half a second is dropped). A recipient that spends half a lease while it lives gets the next
one *ahead*, in the background, added to what is left: its requests then never wait for the
database; a recipient that asks less often than that pays one round trip per request, as
before. The lease ahead is asked for
:data:`~consent.shared_state.background.AFTER_REQUEST` (20 ms) after the request that decided
it, or half the time until it is needed if that is sooner, and at once by a request that needs
it first (:class:`~consent.shared_state.background.Deferred`): its statement then runs after
that request's answer, not within it.

Locally held tokens never exceed one and a half leases, so what a replica spends in any
interval is at most what the shared bucket gave it then plus that: tokens are only ever spent
after the shared bucket gave them, so the rate across the instance is never exceeded beyond
those few held tokens per replica; a lease left unspent is dropped (the recipient loses those
tokens: it errs on the strict side); a burst may reach ``burst`` plus what other replicas still
hold in their leases (at most two leases each). A refusal is remembered until the instant the
shared bucket named: no token can appear there sooner, since only time adds tokens.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from functools import partial
from typing import Protocol, runtime_checkable

import sqlalchemy as sa

from consent.shared_state.background import Deferred, ahead_delay, finish
from consent.shared_state.quota import DB_NOW
from consent.storage.database import Database

Seconds = Callable[[], float]

log = logging.getLogger("passerelle.rate_limit")

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

    async def close(self) -> None:
        """Finish what runs in the background (before the database goes away)."""
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

    async def close(self) -> None:
        """Nothing runs in the background."""


# Take up to :n tokens at once: the old row is read under its lock (FOR UPDATE) in the same
# statement, so what was taken can be returned (RETURNING sees only the new row otherwise).
# ``t`` reads the clock once, so the level taken from and the level returned agree; GREATEST
# keeps ``updated`` from going back when a statement that read it earlier commits later.
_OLD_LEVEL = ("LEAST(CAST(:burst AS double precision), old.tokens"
              " + GREATEST(0, t.now - old.updated) * :rate)")
_TAKEN = f"LEAST(FLOOR({_OLD_LEVEL}), :n)"
_TAKE_UP_TO = sa.text(f"""
WITH t AS (SELECT {DB_NOW} AS now)
UPDATE rate_bucket SET
    tokens = {_OLD_LEVEL} - {_TAKEN},
    granted = {_TAKEN} >= 1,
    updated = GREATEST(old.updated, t.now)
FROM (SELECT tokens, updated FROM rate_bucket WHERE bucket = :bucket AND key = :key
      FOR UPDATE) AS old, t
WHERE rate_bucket.bucket = :bucket AND rate_bucket.key = :key
RETURNING CAST({_TAKEN} AS integer) AS taken, rate_bucket.tokens
""")  # noqa: S608 - only constants are interpolated
_CREATE = sa.text(f"""
INSERT INTO rate_bucket (bucket, key, tokens, updated, granted)
SELECT CAST(:bucket AS varchar), CAST(:key AS varchar), CAST(:burst AS double precision),
    {DB_NOW}, false
ON CONFLICT (bucket, key) DO NOTHING
""")


# A row refilled to its burst since its last take: missing, it would be created full.
_DROP_FULL = sa.text(f"""
DELETE FROM rate_bucket WHERE bucket = :bucket AND updated + :full < {DB_NOW}
""")  # noqa: S608 - only constants are interpolated


class DatabaseBuckets:
    """:class:`RateBuckets` in the ``rate_bucket`` table (PostgreSQL), shared by replicas.

    ``name`` tells limits apart in the table. Its instants are the database's clock, never a
    replica's; ``seconds`` replaces that clock for tests that simulate time in one process.
    """

    def __init__(self, db: Database, name: str, rate: float, burst: int, *,
                 seconds: Seconds | None = None) -> None:
        _validate(rate, burst)
        self.db = db
        self.name = name
        self.rate = rate
        self.burst = burst
        self._now = seconds

    async def take(self, key: str) -> float:
        return (await self.take_up_to(key, 1))[1]

    async def take_up_to(self, key: str, n: int) -> tuple[int, float]:
        """Take up to ``n`` tokens of ``key`` at once: ``(taken, seconds until one is there)``
        (the wait is ``0.0`` when some were taken)."""
        params = {"bucket": self.name, "key": key, "burst": float(self.burst), "rate": self.rate,
                  "now": None if self._now is None else self._now(), "n": n}
        async with self.db.relaxed() as conn:
            row = (await conn.execute(_TAKE_UP_TO, params)).first()
            if row is None:  # the first request of this key: a full bucket, then take
                await conn.execute(_CREATE, params)
                row = (await conn.execute(_TAKE_UP_TO, params)).one()
        taken, tokens = int(row.taken), float(row.tokens)
        return taken, 0.0 if taken else (1.0 - tokens) / self.rate

    async def drop_full(self) -> int:
        """Delete this limit's rows that have refilled to the burst since their last take; how
        many. A missing row is a full bucket (:meth:`take_up_to` creates it so), so no answer
        changes: it keeps a limit keyed by client addresses from keeping a row for every
        address that ever spent a token. A take racing the delete waits for its row lock and
        either finds the row taken from since (kept: the delete re-checks it) or gone."""
        params = {"bucket": self.name, "full": self.burst / self.rate,
                  "now": None if self._now is None else self._now()}
        async with self.db.relaxed() as conn:
            return int((await conn.execute(_DROP_FULL, params)).rowcount or 0)

    async def close(self) -> None:
        """Nothing runs in the background (each statement is awaited by its caller)."""


class LeasedBuckets:
    """:class:`RateBuckets` spending leases of a :class:`DatabaseBuckets`; see the module
    docstring. ``lease_seconds`` of the rate (at most a quarter of the burst, at least one
    token) per lease, dropped after ``hold`` seconds of ``seconds`` (monotonic) unused."""

    def __init__(self, shared: DatabaseBuckets, *, lease_seconds: float = 0.1,
                 hold: float = 0.5, seconds: Seconds = time.monotonic) -> None:
        self.shared = shared
        self.rate = shared.rate
        self.burst = shared.burst
        self.lease = max(1, min(shared.burst // 4, math.ceil(shared.rate * lease_seconds)))
        self.hold = hold
        self._now = seconds
        self._leases: dict[str, tuple[int, float]] = {}  # key -> (tokens left, spend before)
        self._refused: dict[str, float] = {}  # key -> no token in the shared bucket before
        self._pending: dict[str, asyncio.Future[None]] = {}  # key -> its lease in flight
        self._ahead: dict[str, Deferred[float]] = {}  # key -> its lease ahead, due or in flight

    async def take(self, key: str) -> float:
        while True:
            now = self._now()
            left, until = self._leases.get(key, (0, 0.0))
            if left > 0 and now < until:
                self._leases[key] = (left - 1, now + self.hold)  # kept while in use
                if (left - 1 <= self.lease // 2 and key not in self._pending
                        and now >= self._refused.get(key, 0.0)):  # the next one, ahead
                    done = self._in_flight(key)
                    gap = now - (until - self.hold)  # since the key's previous token
                    self._ahead[key] = Deferred(partial(self._lease, key, done, ahead=True),
                                                ahead_delay(gap, left - 1))
                return 0.0
            refused_until = self._refused.get(key, 0.0)
            if now < refused_until:  # the shared bucket said when it would next hold a token
                return refused_until - now
            pending = self._pending.get(key)
            if pending is None:
                return await self._lease(key, self._in_flight(key))
            # One lease in flight per key: concurrent requests share it rather than each
            # taking a lease (which would empty the shared bucket for nothing); one ahead and
            # not yet due is asked for now.
            ahead = self._ahead.get(key)
            if ahead is not None:
                ahead.start()
            await asyncio.shield(pending)

    async def close(self) -> None:
        """Drop the leases ahead not asked for yet; let those in flight land, or cancel them
        (:func:`~consent.shared_state.background.finish`)."""
        for key, ahead in list(self._ahead.items()):
            if ahead.cancel():  # never asked for: nobody may wait for it
                del self._ahead[key]
                self._pending.pop(key).set_result(None)
        await finish([a.task for a in self._ahead.values() if a.task is not None])

    def _in_flight(self, key: str) -> asyncio.Future[None]:
        """Mark a lease of ``key`` in flight, before anything awaits: one at a time per key."""
        done = self._pending[key] = asyncio.get_running_loop().create_future()
        return done

    async def _lease(self, key: str, done: asyncio.Future[None], *,
                     ahead: bool = False) -> float:
        """Take the lease of ``key`` marked in flight by ``done``. In the foreground, spend its
        first token; ahead, add it to what is left of the current lease."""
        try:
            taken, wait = await self.shared.take_up_to(key, self.lease)
        except Exception:
            if not ahead:
                raise
            # Nobody waits for this one: the next request leases in the foreground and meets
            # the error itself, if it persists.
            log.warning("taking a rate-limit lease ahead failed", exc_info=True)
            return 0.0
        finally:
            del self._pending[key]
            done.set_result(None)
            if ahead:
                self._ahead.pop(key, None)
        now = self._now()
        if taken == 0:
            self._refused[key] = now + wait
            return wait
        left, until = self._leases.get(key, (0, 0.0)) if ahead else (0, 0.0)
        spent = 0 if ahead else 1
        self._leases[key] = ((left if now < until else 0) + taken - spent, now + self.hold)
        if len(self._leases) + len(self._refused) > _MAX_BUCKETS:
            self._leases = {k: v for k, v in self._leases.items() if v[1] > now}
            self._refused = {k: v for k, v in self._refused.items() if v > now}
        return 0.0

"""Leases of a shared quota ledger: several DSO call starts per round trip, never more calls.

:class:`~consent.shared_state.quota.DatabaseLedger` counts every DSO call start in PostgreSQL:
a statement on the request's path, and, since a lane of the limiter asks its ledger one start
at a time, a ceiling of one start per round trip (about 1,300 a second here) on each lane of
each replica. :class:`LeasedLedger` (what replicas use) takes starts a few at a time
(:meth:`DatabaseLedger.take_up_to`) and spends them locally.

Why the DSO's windows still hold: a lease is spendable for ``spend_within`` seconds (on a
monotonic clock, measured from before the statement was sent) and its starts are *counted* in
the shared rings as made at the lease's end, ``spend_within`` seconds after the statement read
the database's clock (which the replicas share, and which reads later than the replica's
monotonic instant before it sent the statement). Each slot of a ring is taken
only once its counted start has aged out by a window's ``period``; a start made earlier than
counted frees its slot later than need be. So every slot's real starts stay at least
``period`` apart, and a window of ``limit`` slots never sees more than ``limit`` real starts
in any ``period``, whatever the replicas do.

What leasing costs is slots: a start leased and not made is lost until its window ages it out
(it errs on the strict side), and a leased slot is held ``spend_within`` longer than a start
made at once. So a lease is sized to what this process used of its previous one (doubling after a
lease spent to the last start, shrinking to what was used after one that expired), and never
more than ``spend_within`` seconds of any window's rate nor a quarter of its slots. The DSOs'
documented quotas (Enedis: 5 calls a second per application) make that one start: the lease
is then not used at all, every start is taken from the shared ledger as it is made, as before.
Only quotas of many calls a second, where the round trips cost the most, are leased.

A lease in steady use is followed by the next one taken *ahead*, in the background, so that a
request seldom waits for the round trip: when a start takes a lease's last one, or is taken in
the second half of its life with at least half of it spent, the next lease is asked for (one at
a time; twice as large only after a lease spent to its end in the first half of its life). It is a
lease like any other, spendable until ``spend_within`` after it was asked for and counted as
made then; it is spent only once the current one is spent or expired, and dropped unspent if
it expires first (its starts stay counted: the strict side again; the next start is then
taken alone, and leases grow again from there).
Callers finding no start while it is on its way wait for it rather than take another.
It is asked for :data:`~consent.shared_state.background.AFTER_REQUEST` (20 ms) after the start
that decided it, or half the time until it is needed if that is sooner (the starts' last
interval tells), and at once by a caller that needs it first
(:class:`~consent.shared_state.background.Deferred`): so its statement no longer runs within
the deciding request's own answer.

A 429 from the DSO (:meth:`hold`) drops the leases: the DSO said stop, their starts are not
made (a lease in flight then is dropped when it lands); and until the hold is in the shared
rings (its transaction's round trips), no start of this ledger is taken from them either: they
still have room then.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Collection

from consent.shared_state.background import Deferred, ahead_delay
from consent.shared_state.quota import DatabaseLedger

Seconds = Callable[[], float]

log = logging.getLogger("passerelle.quota")


class LeasedLedger:
    """A :class:`~consent.shared_state.quota.QuotaLedger` spending leases of a
    :class:`~consent.shared_state.quota.DatabaseLedger`; see the module docstring.

    ``spend_within`` is how long a lease may be spent (seconds of ``seconds``, a monotonic
    clock).
    """

    def __init__(self, shared: DatabaseLedger, *, spend_within: float = 0.1,
                 seconds: Seconds = time.monotonic) -> None:
        self.shared = shared
        self.windows = shared.windows
        self.spend_within = spend_within
        #: The largest lease: ``spend_within`` of any window's rate, a quarter of its slots.
        self.largest = max(1, min((min(w.limit // 4, math.floor(w.limit * spend_within
                                                                   / w.period))
                                   for w in self.windows), default=1))
        self._now = seconds
        self._size = 1  # the next lease's size
        self._single = -math.inf  # when the last start was taken alone
        self._granted = 0  # the current lease's size
        self._left = 0  # starts left in it
        self._until = 0.0  # spendable before this instant
        self._pending: asyncio.Future[None] | None = None  # a lease in flight
        self._holds = 0  # 429s heard: a lease taken before one is not spent after it
        self._holding: asyncio.Future[None] | None = None  # a 429's hold on its way
        self._next = 0  # the size of the lease taken ahead (0: none)
        self._next_until = 0.0  # spendable before this instant
        self._ahead: Deferred[None] | None = None  # the lease ahead, due or in flight
        self._last_start = -math.inf  # when the last leased start was spent
        #: Leases taken ahead that landed (what tests observe).
        self.taken_ahead = 0

    async def take(self) -> float:
        while True:
            now = self._now()
            if self._holding is not None:  # the DSO said stop: nothing starts before the hold
                await asyncio.shield(self._holding)
            elif self._left > 0 and now < self._until:
                self._left -= 1
                self._maybe_ahead(now)
                self._last_start = now
                return 0.0
            elif self._next and now < self._next_until:  # the current one is done: the next
                self._size = self._next_size(now)
                self._granted = self._left = self._next
                self._until, self._next = self._next_until, 0
            elif self._next:  # expired before it was needed: demand fell, start afresh
                self._next = self._granted = self._left = 0
                self._size = 1
            elif self._ahead is not None:  # due or on its way: share it, not take another
                await asyncio.shield(self._ahead.start())
            elif self._pending is None:
                return await self._lease()
            else:  # one lease in flight: concurrent callers share it rather than each take one
                await asyncio.shield(self._pending)

    async def settled(self) -> None:
        """Wait for the lease being taken ahead, if any, to land (asking for it now if it is
        not due yet)."""
        if self._ahead is not None:
            await asyncio.shield(self._ahead.start())

    async def close(self) -> None:
        """Drop a lease ahead not asked for yet; let one in flight land, or cancel it
        (:func:`~consent.shared_state.background.finish`)."""
        if self._ahead is not None:
            await self._ahead.close()

    def _maybe_ahead(self, now: float) -> None:
        """Ask for the next lease in the background if this one is ending (see the module
        docstring): its last start taken, or the second half of its life begun with half of
        it or more spent (a lane using less would mostly waste the next one's starts)."""
        used = self._granted - self._left
        if (self._ahead is not None or self._next or self._granted < 2
                or (self._left > 0 and (now < self._until - self.spend_within / 2
                                        or used < self._left))):
            return
        # Spent to the end in the first half of its life: twice as many; else what it used.
        fast = self._left == 0 and now < self._until - self.spend_within / 2
        size = min(self.largest, 2 * used) if fast else max(2, used)
        holds = self._holds
        self._ahead = Deferred(lambda: self._lease_ahead(size, holds),
                               ahead_delay(now - self._last_start, self._left))

    async def _lease_ahead(self, size: int, holds: int) -> None:
        """``holds``: the 429s heard when it was decided (one heard before this task runs is a
        hold on its way to the shared rings, which still have room: nothing is taken)."""
        now = self._now()
        try:
            if holds != self._holds:
                return
            taken, _ = await self.shared.take_up_to(size, lasting=self.spend_within)
        except Exception:  # the next take asks in the foreground, and meets the error itself
            log.warning("taking a quota lease ahead failed", exc_info=True)
            return
        finally:
            self._ahead = None
        if taken and holds == self._holds:  # else the DSO said stop meanwhile: not spent
            self._next, self._next_until = taken, now + self.spend_within
            self.taken_ahead += 1

    def _next_size(self, now: float) -> int:
        if self._granted:  # a lease ended: spent to its last start, or expired
            used, left = self._granted - self._left, self._left
            self._granted = self._left = 0
            return min(self.largest, 2 * used) if left == 0 else max(1, used)
        if self._size == 1 and now - self._single < self.spend_within:
            return min(self.largest, 2)  # starts closer together than a lease lives
        return self._size

    async def _lease(self) -> float:
        now = self._now()
        self._size = self._next_size(now)
        if self._size == 1:  # not worth a lease: one start, counted as made now
            self._single = now
            return await self.shared.take()
        done = self._pending = asyncio.get_running_loop().create_future()
        holds = self._holds
        try:
            # Counted as made ``spend_within`` after the statement is prepared, spendable
            # until ``spend_within`` after ``now``, which is earlier.
            taken, wait = await self.shared.take_up_to(self._size, lasting=self.spend_within)
        finally:
            self._pending = None
            done.set_result(None)
        if taken and holds != self._holds:  # the DSO said stop while the lease was taken
            return await self.take()
        if taken:
            self._granted, self._left = taken, taken - 1
            self._until = now + self.spend_within
            self._last_start = now
        return wait

    async def hold(self, seconds: float, names: Collection[str]) -> None:
        self._granted = self._left = self._next = 0  # the DSO said stop: nothing left is spent
        self._size, self._single = 1, -math.inf
        self._holds += 1
        if self._ahead is not None and self._ahead.cancel():  # not asked for yet: never is
            self._ahead = None
        holding = self._holding = asyncio.get_running_loop().create_future()
        try:
            await self.shared.hold(seconds, names)
        finally:
            if self._holding is holding:
                self._holding = None
            holding.set_result(None)

    async def headroom(self) -> dict[str, tuple[int, int]]:
        # Leased starts count as used in the shared rings, spent or not.
        return await self.shared.headroom()

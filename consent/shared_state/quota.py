"""Quota ledgers: how many calls to an upstream may start now, under every quota window.

A quota ``N requests per T`` is a :class:`SlidingWindow`: at most ``N`` call starts in any
interval of length ``T`` (times ``1 + margin``, for network jitter), which conforms whatever
window the DSO counts in, fixed or sliding. A :class:`QuotaLedger` holds the windows that apply
to one upstream API (its own and the application-wide ones) and starts a call only when *all*
of them have room, counting it in all of them at once.

* :class:`MemoryLedger`: the windows' own logs in this process (SQLite instances).
* :class:`DatabaseLedger`: each window is a ring of at most ``N`` rows in ``quota_slot``; a
  call takes, in every window, the oldest slot whose last start is ``T`` old (``SELECT ... FOR
  UPDATE SKIP LOCKED``, then ``UPDATE``; or adds a slot while the ring is short of ``N``), all
  windows or none, in **one** statement (one round trip on every DSO call:
  :func:`_take_statement`), so replicas share the DSO's quota exactly instead of each assuming
  all of it. Every instant there is read on the *database's* clock, inside the statement
  (:data:`DB_NOW`): replicas whose clocks disagree by more than the window's margin (5 %: 50 ms
  of a 5-a-second quota) would otherwise see each other's starts age out early and send the
  DSO more than its quota.

A DSO that answers 429 anyway is obeyed through :meth:`QuotaLedger.hold`: every slot of the
named windows counts as used until its ``Retry-After`` has passed, on every replica.

Fairness between recipients is the limiter's business (:mod:`adapters.limiter`), not the
ledger's. Windows are named; two ledgers naming the same window share it.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa

from consent.storage.compiled import compiled_for
from consent.storage.database import Database

Seconds = Callable[[], float]

#: Extra time added to every window: two calls sent ``T`` apart may arrive closer than that.
DEFAULT_MARGIN = 0.05
#: Wait suggested when a free slot exists but another transaction holds it right now.
CONTENDED_WAIT = 0.005


class SlidingWindow:
    """At most ``limit`` call starts in any interval of ``period`` seconds (times ``1+margin``).

    Its own log of starts serves :class:`MemoryLedger`; :class:`DatabaseLedger` uses only the
    name, limit and period.
    """

    def __init__(self, limit: int, period: timedelta, *, margin: float = DEFAULT_MARGIN,
                 name: str = "") -> None:
        if limit < 1:
            raise ValueError("a quota allows at least one call")
        self.limit = limit
        self.period = period.total_seconds() * (1 + margin)
        self.name = name or f"{limit}/{period.total_seconds():g}s"
        self._starts: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more call may start (0 if it may start now)."""
        # One expression decides both "left the window" and "how long until it leaves", so a
        # start still inside never yields a wait rounded to 0.
        while self._starts and self._starts[0] + self.period - now <= 0:
            self._starts.popleft()
        if len(self._starts) < self.limit:
            return 0.0
        return self._starts[0] + self.period - now

    def record(self, now: float) -> None:
        """Count a call started at ``now``; only after :meth:`wait` returned 0."""
        self._starts.append(now)

    def free(self, now: float) -> int:
        """How many calls could start now in this window alone."""
        self.wait(now)
        return self.limit - len(self._starts)

    def hold(self, until: float) -> None:
        """Let no call start before ``until``: every slot counts as used until then. Starts
        later than that keep counting as they did (a hold never frees a slot)."""
        held = until - self.period
        kept = [max(start, held) for start in self._starts]
        self._starts = deque(sorted(kept + [held] * (self.limit - len(kept))))

    def __repr__(self) -> str:
        return f"SlidingWindow({self.name}: {self.limit}/{self.period:.3f}s)"


@runtime_checkable
class QuotaLedger(Protocol):
    """Admission under a fixed set of windows; see the module docstring."""

    windows: tuple[SlidingWindow, ...]

    async def take(self) -> float:
        """Start a call if every window has room (``0.0``, counted in all of them); otherwise
        count nothing and return the seconds until it may be worth asking again."""
        ...

    async def hold(self, seconds: float, names: Collection[str]) -> None:
        """Start no call in the windows named ``names`` for ``seconds`` (the DSO answered 429
        with that ``Retry-After``); other windows are untouched."""
        ...

    async def headroom(self) -> dict[str, tuple[int, int]]:
        """``{window name: (free, limit)}`` now (for the quota-headroom gauge)."""
        ...

    async def close(self) -> None:
        """Finish what runs in the background (before the database goes away)."""
        ...


class MemoryLedger:
    """A :class:`QuotaLedger` over the windows' own logs (``seconds``: monotonic)."""

    def __init__(self, windows: Sequence[SlidingWindow], *,
                 seconds: Seconds = time.monotonic) -> None:
        self.windows = tuple(windows)
        self._now = seconds

    async def take(self) -> float:
        now = self._now()
        wait = max((w.wait(now) for w in self.windows), default=0.0)
        if wait == 0.0:
            for window in self.windows:
                window.record(now)
        return wait

    async def hold(self, seconds: float, names: Collection[str]) -> None:
        until = self._now() + seconds
        for window in self.windows:
            if window.name in names:
                window.hold(until)

    async def headroom(self) -> dict[str, tuple[int, int]]:
        now = self._now()
        return {w.name: (w.free(now), w.limit) for w in self.windows}

    async def close(self) -> None:
        """Nothing runs in the background."""


#: "Now" in seconds in the shared ledgers' statements (here and :mod:`.buckets`): the
#: database's clock, one clock for every replica. ``:now`` replaces it only where a test
#: simulates time in one process (``seconds=``); production binds ``None``.
DB_NOW = ("COALESCE(CAST(:now AS double precision), "
          "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS double precision))")


# Every slot of the ring (grown to its full size) holds a start no earlier than now + ``held``
# (Retry-After - T): the window has no room until the Retry-After has passed, and a later start
# already counted stays counted.
_HOLD = sa.text(f"""
INSERT INTO quota_slot (quota, slot, last_start)
SELECT CAST(:quota AS varchar), slot, {DB_NOW} + CAST(:held AS double precision)
FROM generate_series(0, CAST(:limit AS integer) - 1) AS slot
ON CONFLICT (quota, slot) DO UPDATE
SET last_start = GREATEST(quota_slot.last_start, EXCLUDED.last_start)
""")  # noqa: S608 - only constants are interpolated


@functools.cache
def _take_statement(windows: int) -> sa.TextClause:
    """Take up to ``:n`` starts in ``windows`` windows at once, each in all of them or none,
    in one statement.

    ``t`` reads the clock once (:data:`DB_NOW`; a CTE calling a volatile function is evaluated
    once), and the starts are counted at its reading plus ``:lasting``. Per window ``i``
    (parameters ``q{i}`` name, ``p{i}`` period, ``l{i}`` limit): ``c{i}`` are the (at most
    ``n``) oldest slots whose start has aged out (locked; those another transaction holds are
    skipped), ``s{i}`` the ring's size and oldest start. ``k`` is how many starts every window
    has room for (aged-out slots plus what the ring may still grow), at most ``n``; ``u{i}``
    moves ``k`` of the aged-out slots' start to that instant and ``g{i}`` grows the ring by the
    rest. Answers ``k``, then per window: starts counted, whether a slot had aged out, ring
    size, oldest start; last, the clock's reading (for the wait).

    Two growers of one ring race for the same slot numbers: the primary key keeps one; the
    other counted fewer starts there than in its other windows, which errs on the safe side
    (starts counted that never happen): its caller uses the fewest counted, or comes back at
    once if that is none ("contended").
    """
    ctes, columns = ["t AS (SELECT " + DB_NOW + " AS now)"], []
    for i in range(windows):  # only the window's index is put in the text: "#" below
        ctes += [part.replace("#", str(i)) for part in (_CANDIDATE, _RING)]
    room = ", ".join(_ROOM.replace("#", str(i)) for i in range(windows))
    ctes.append("k AS (SELECT LEAST(CAST(:n AS integer)" + (", " + room if room else "")
                + ") AS k)")
    for i in range(windows):
        ctes += [part.replace("#", str(i)) for part in (_MOVE, _GROW)]
        columns.append(_ANSWER.replace("#", str(i)))
    answer = ", ".join(["(SELECT k FROM k)", *columns, "(SELECT now FROM t)"])
    # Constants and window indexes only: nothing from outside reaches the text.
    return sa.text("WITH " + ",\n".join(ctes) + "\nSELECT " + answer)


_CANDIDATE = """c# AS (SELECT slot, last_start FROM quota_slot
    WHERE quota = :q# AND last_start <= (SELECT now FROM t) - :p#
    ORDER BY last_start LIMIT :n FOR UPDATE SKIP LOCKED)"""
_RING = """s# AS (SELECT count(*) AS n, min(last_start) AS oldest FROM quota_slot
    WHERE quota = :q#)"""
_ROOM = "(SELECT count(*) FROM c#) + GREATEST(0, :l# - (SELECT n FROM s#))"
_MOVE = """u# AS (UPDATE quota_slot SET last_start = (SELECT now FROM t) + :lasting
    WHERE quota = :q# AND slot IN (
        SELECT slot FROM c# ORDER BY last_start, slot LIMIT (SELECT k FROM k))
    RETURNING slot)"""
_GROW = """g# AS (INSERT INTO quota_slot (quota, slot, last_start)
    SELECT CAST(:q# AS varchar), s#.n + grown, (SELECT now FROM t) + :lasting
    FROM s#, generate_series(0, (SELECT k FROM k) - (SELECT count(*) FROM c#) - 1) AS grown
    ON CONFLICT DO NOTHING RETURNING slot)"""
_ANSWER = ("(SELECT count(*) FROM u#) + (SELECT count(*) FROM g#), EXISTS (SELECT 1 FROM c#), "
           "(SELECT n FROM s#), (SELECT oldest FROM s#)")


_HEADROOM = sa.text(f"""SELECT count(*) FILTER (WHERE last_start <= {DB_NOW} - :period),
    count(*) FROM quota_slot WHERE quota = :quota""")  # noqa: S608 - only constants put in


class DatabaseLedger:
    """A :class:`QuotaLedger` in the ``quota_slot`` table (PostgreSQL), shared by replicas.

    Its instants are the database's clock (:data:`DB_NOW`), never a replica's. ``seconds``
    replaces that clock for tests that simulate time in one process; never give it to replicas.
    """

    def __init__(self, db: Database, windows: Sequence[SlidingWindow], *,
                 seconds: Seconds | None = None) -> None:
        self.db = db
        # One order for every ledger: transactions take rows window by window in the same
        # sequence (and never wait, thanks to SKIP LOCKED), so none can deadlock another.
        self.windows = tuple(sorted(windows, key=lambda w: w.name))
        self._now = seconds

    async def take(self) -> float:
        return (await self.take_up_to(1))[1]

    async def take_up_to(self, n: int, *, lasting: float = 0.0) -> tuple[int, float]:
        """Take up to ``n`` starts at once, each counted in every window: ``(taken, seconds
        until one may be worth asking again)`` (the wait is ``0.0`` when some were taken).

        Each start is counted as made ``lasting`` seconds from now: whoever spends them
        (:class:`~consent.shared_state.quota_leases.LeasedLedger`) must start them before
        then. A start made earlier than it is counted only frees its slot later than need be,
        so every window still holds at most ``limit`` real starts in any ``period``.
        """
        params: dict[str, Any] = {"now": self._simulated(), "lasting": float(lasting), "n": n}
        for i, w in enumerate(self.windows):
            params |= {f"q{i}": w.name, f"p{i}": w.period, f"l{i}": w.limit}
        # One statement, one round trip, in autocommit (it commits alone), on the driver's
        # connection: through SQLAlchemy's execution context the same call cost 335 us of CPU
        # and 1.2 ms, directly 97 us and 0.76 ms, on every DSO call of every replica. It
        # writes only ``quota_slot``, which no cache reads (the change feed needs no event).
        take = compiled_for(f"quota-ledger.take.{len(self.windows)}", self.db.engine.dialect,
                            functools.partial(_take_statement, len(self.windows)))
        async with self.db.reader.connect() as conn:
            row = await take.fetch_row(conn, params)
        room, now = int(row[0]), float(row[-1])
        taken = min((int(row[1 + 4 * i]) for i in range(len(self.windows))), default=room)
        if taken > 0:
            return taken, 0.0
        if room > 0:  # a ring grown by another replica at the same instant: come back at once
            return 0, CONTENDED_WAIT
        waits = [CONTENDED_WAIT]
        for i, w in enumerate(self.windows):
            _taken, candidate, rows, oldest = row[1 + 4 * i: 5 + 4 * i]
            if not candidate and rows >= w.limit and oldest is not None:
                waits.append(float(oldest) + w.period - now)  # full: its oldest start ages out
        return 0, max(waits)

    async def hold(self, seconds: float, names: Collection[str]) -> None:
        now = self._simulated()
        async with self.db.engine.begin() as conn:
            for w in self.windows:  # the ledgers' one order: no deadlock with another hold
                if w.name in names:
                    await conn.execute(_HOLD, {"quota": w.name, "limit": w.limit, "now": now,
                                               "held": seconds - w.period})

    async def headroom(self) -> dict[str, tuple[int, int]]:
        now = self._simulated()
        found: dict[str, tuple[int, int]] = {}
        async with self.db.engine.connect() as conn:
            for w in self.windows:
                free, rows = (await conn.execute(_HEADROOM, {
                    "quota": w.name, "now": now, "period": w.period})).one()
                found[w.name] = (int(free) + w.limit - int(rows), w.limit)
        return found

    def _simulated(self) -> float | None:
        """``:now``: ``None`` (the database's clock) unless a test gave ``seconds``."""
        return None if self._now is None else self._now()

    async def close(self) -> None:
        """Nothing runs in the background (each statement is awaited by its caller)."""

"""``QuotaLane``: one bucket of a :class:`~adapters.quota.QuotaPlan` inside
:class:`~adapters.limiter.FairLimiter` (whose docstring says how the two work together).

A lane keeps what one process knows about its bucket: the ledger that decides when a start may
happen (memory, or PostgreSQL shared by replicas), the recipients' waiting lines served
round-robin, each recipient's recent starts (its share of the hour's or day's quota), and the
escalation of 429s that name no wait. It does no waiting itself: the limiter's turn and
dispatcher drive it.
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict, deque

from consent.shared_state.quota import QuotaLedger


class QuotaLane:
    """One bucket: its ledger, the window a 429 holds, and the recipients' waiting lines."""

    def __init__(self, ledger: QuotaLedger, held: str) -> None:
        self.ledger = ledger
        self.held = held
        windows = ledger.windows
        self.per_call = max(w.period / w.limit for w in windows)
        #: The spacing of starts while only the shortest window binds (5 a second), as long
        #: as the longer ones (1,000 an hour) have room.
        self.burst_call = min(w.period / w.limit for w in windows)
        self.shortest = min(w.period for w in windows)
        self.longest = max(w.period for w in windows)
        #: The windows a recipient gets a share of (an hour's, a day's quota): over the
        #: shortest one, round-robin among those waiting is fairness enough.
        self.long_windows = [w for w in windows if w.period > self.shortest]
        #: Each recipient's starts in this lane (seconds), for its share of the long windows.
        self.starts: dict[str, deque[float]] = {}
        #: 429s without a wait that came in a row, and when the last one's hold ends.
        self.unexplained = 0
        self.unexplained_until, self.unexplained_hold_s = -math.inf, 0.0
        self.queues: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self.dispatcher: asyncio.Task[None] | None = None
        self.last_wait = 0.0  # the ledger's latest "come back in" answer
        #: Set while a caller of an idle lane asks the ledger directly (a database round
        #: trip): whoever comes meanwhile waits for that answer and then queues, rather than
        #: ask the ledger too (a herd of round trips, and turns given in the order the
        #: database happened to answer) or judge its wait by an answer from long ago.
        self.probe: asyncio.Future[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for queue in self.queues.values() for f in queue if not f.done())

    def prune(self) -> None:
        """Forget waiters that left (timed out, cancelled): a lane whose only waiters left
        is idle, and must ask the ledger again rather than trust its last answer."""
        for recipient in [r for r, queue in self.queues.items()
                          if all(f.done() for f in queue)]:
            del self.queues[recipient]

    def estimate(self, recipient: str) -> float:
        """Seconds a newcomer of ``recipient`` would wait, roughly: the next free start, then
        one start per turn ahead of it. Turns go round-robin, so ahead of it are its own
        waiters and, of each other recipient's, at most one more than its own: one app's
        burst does not push another app's request past the wait bound. Starts come at the
        shortest window's pace while the ledger's last answer says the longer ones have room
        (its wait is within the shortest window), else at the slowest window's."""
        own = sum(1 for f in self.queues.get(recipient, ()) if not f.done())
        ahead = own + sum(min(own + 1, sum(1 for f in queue if not f.done()))
                          for other, queue in self.queues.items() if other != recipient)
        pace = self.burst_call if self.last_wait <= self.shortest else self.per_call
        return self.last_wait + ahead * pace

    def share_wait(self, recipient: str, now: float, share: float) -> float:
        """Seconds until ``recipient`` is back under ``share`` of every long window (``0``:
        it is), counting the starts it took here."""
        starts = self.starts.get(recipient)
        if not starts:
            return 0.0
        while starts and starts[0] <= now - self.longest:
            starts.popleft()
        wait = 0.0
        for window in self.long_windows:
            cap = max(1, math.floor(window.limit * share + 1e-9))  # 0.29 x 100 is 29
            recent = [t for t in starts if t > now - window.period]
            if len(recent) >= cap:
                wait = max(wait, recent[-cap] + window.period - now)
        if not starts:
            del self.starts[recipient]
        return wait

    def unexplained_hold(self, now: float) -> float:
        """The hold of a 429 that names no wait: the shortest window, doubled for each such
        429 that comes less than one hold after the previous one's ended (a longer window is
        full: Enedis's hourly "Quota Q4 reached" names none), up to the longest window; one
        arriving while a hold runs (the same burst) holds no longer. An answer that is not a
        429 starts over (:meth:`FairLimiter.settled`). Probing a full hourly quota once a
        second would be refused 3,600 times; doubling asks a dozen times."""
        if now < self.unexplained_until:  # the same burst's other 429s: one hold, not more
            return self.unexplained_until - now
        if now > self.unexplained_until + self.unexplained_hold_s:
            self.unexplained = 0
        hold = float(min(self.shortest * 2 ** min(self.unexplained, 32), self.longest))
        self.unexplained += 1
        self.unexplained_until, self.unexplained_hold_s = now + hold, hold
        return hold

    def live(self) -> bool:
        return any(not f.done() for queue in self.queues.values() for f in queue)

    def next_waiter(self) -> asyncio.Future[None] | None:
        """Pop the first live waiter of the next recipient in turn (round-robin)."""
        while self.queues:
            recipient, queue = next(iter(self.queues.items()))
            self.queues.move_to_end(recipient)
            while queue and queue[0].done():  # cancelled or timed out
                queue.popleft()
            if not queue:
                del self.queues[recipient]
                continue
            future = queue.popleft()
            if not queue:
                del self.queues[recipient]
            return future
        return None

    def fail_all(self, error: BaseException) -> None:
        for queue in self.queues.values():
            for future in queue:
                if not future.done():
                    future.set_exception(error)
        self.queues.clear()

"""Login throttling: failed attempts per account and per client address, sliding windows.

Per account, :data:`ACCOUNT_LIMIT` failures in :data:`WINDOW` lock the username for the rest of
the window (online guessing of one household's password); per address, :data:`ADDRESS_LIMIT`
failures (guessing across many usernames). A success clears the account's counter only. The
counters live in this process: an instance running several processes behind a balancer gets
one budget per process, which the limits account for.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import datetime, timedelta

from consent.clock import Clock

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
#: Oldest keys are forgotten beyond this many, so memory stays bounded under a flood.
MAX_KEYS = 100_000


class SlidingWindow:
    """At most ``limit`` events per key within ``window``."""

    def __init__(self, limit: int, window: timedelta, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: OrderedDict[str, deque[datetime]] = OrderedDict()

    def retry_after(self, key: str) -> timedelta | None:
        """How long ``key`` must wait, or ``None`` if it may try now."""
        events = self._prune(key)
        if len(events) < self.limit:
            return None
        return events[0] + self.window - self.clock.now()

    def record(self, key: str) -> None:
        """Count one event for ``key``."""
        self._prune(key).append(self.clock.now())
        self._events.move_to_end(key)
        while len(self._events) > MAX_KEYS:
            self._events.popitem(last=False)

    def clear(self, key: str) -> None:
        """Forget ``key``'s events."""
        self._events.pop(key, None)

    def _prune(self, key: str) -> deque[datetime]:
        events = self._events.setdefault(key, deque())
        horizon = self.clock.now() - self.window
        while events and events[0] <= horizon:
            events.popleft()
        return events


class LoginThrottle:
    """The two windows of the login form."""

    def __init__(self, clock: Clock) -> None:
        self.accounts = SlidingWindow(ACCOUNT_LIMIT, WINDOW, clock)
        self.addresses = SlidingWindow(ADDRESS_LIMIT, WINDOW, clock)

    def retry_after(self, username: str, address: str) -> timedelta | None:
        """The longer wait of the two windows, or ``None``."""
        waits = [w for w in (self.accounts.retry_after(username.casefold()),
                             self.addresses.retry_after(address)) if w is not None]
        return max(waits) if waits else None

    def failed(self, username: str, address: str) -> None:
        """Record a failed attempt."""
        self.accounts.record(username.casefold())
        self.addresses.record(address)

    def succeeded(self, username: str) -> None:
        """Clear the account's failures."""
        self.accounts.clear(username.casefold())

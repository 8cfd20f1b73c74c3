"""Login throttling: failed attempts per account and per client address, sliding windows.

Per account, :data:`ACCOUNT_LIMIT` failures in :data:`WINDOW` lock the username for the rest of
the window (online guessing of one household's password); per address, :data:`ADDRESS_LIMIT`
failures (guessing across many usernames). A success clears the account's counter only. The
counters are :class:`~consent.shared_state.AttemptCounter`\\ s: on PostgreSQL every replica
counts in the same rows, so spreading guesses over replicas buys an attacker nothing.
"""

from __future__ import annotations

from datetime import timedelta

from consent.clock import Clock
from consent.shared_state import AttemptCounter, attempt_counter
from consent.storage import Database

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


class LoginThrottle:
    """The two windows of the login form."""

    def __init__(self, accounts: AttemptCounter, addresses: AttemptCounter) -> None:
        self.accounts = accounts
        self.addresses = addresses

    @classmethod
    def for_database(cls, db: Database, clock: Clock) -> LoginThrottle:
        """Counters shared through ``db`` when it is PostgreSQL, in memory otherwise."""
        return cls(attempt_counter(db, "login-account", ACCOUNT_LIMIT, WINDOW, clock),
                   attempt_counter(db, "login-address", ADDRESS_LIMIT, WINDOW, clock))

    async def retry_after(self, username: str, address: str) -> timedelta | None:
        """The longer wait of the two windows, or ``None``."""
        waits = [w for w in (await self.accounts.retry_after(username.casefold()),
                             await self.addresses.retry_after(address)) if w is not None]
        return max(waits) if waits else None

    async def failed(self, username: str, address: str) -> None:
        """Record a failed attempt."""
        await self.accounts.record(username.casefold())
        await self.addresses.record(address)

    async def succeeded(self, username: str) -> None:
        """Clear the account's failures."""
        await self.accounts.clear(username.casefold())

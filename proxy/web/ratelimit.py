"""Login throttling: attempts per account and per client address, sliding windows.

Per account, :data:`ACCOUNT_LIMIT` attempts in :data:`WINDOW` lock the account for the rest of
the window (online guessing of one household's password); per address, :data:`ADDRESS_LIMIT`
(guessing across many usernames). The counters are :class:`~consent.shared_state.AttemptCounter`
\\ s: on PostgreSQL every replica counts in the same rows, so spreading guesses over replicas
buys an attacker nothing.

**Counted before checked** (OWASP ASVS 4.0 V2.2.1). :meth:`LoginThrottle.attempt` reserves the
attempt in both counters *before* the password (argon2id, in a thread), the reset code or the
meter number is checked, counting and comparing in one step; a burst of concurrent guesses gets
at most the limit checked, the rest are told to wait (429) unchecked. A wrong proof keeps its
count, and so does an attempt that ends in an error (failing closed). A success, or an attempt
that checked nothing (a DSO that did not answer, a race lost to another tab), gives its own
place back in both windows (:meth:`~LoginThrottle.release`). A success does *not* wipe the
failures before it (they age out with the window): wiping them would hand the rest of a
concurrent burst, or an attacker who waits for the household's own sign-ins, a fresh budget.

**Keys.** An account is its tenant and its username (:func:`account_key`): usernames are unique
per tenant (R24), and failures on one tenant must not lock the same name on another. An address
is an IPv4 address, or an IPv6 address's /64 (:func:`address_key`): one subscriber line or host
usually gets a whole /64 (RFC 6177, RFC 7934 §6), so counting single IPv6 addresses would give
one attacker 2^64 budgets.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from consent.clock import Clock
from consent.shared_state import AttemptCounter, Reservation, attempt_counter
from consent.storage import Database

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


def account_key(tenant: str, username: str) -> str:
    """The account counter's key of ``username`` on ``tenant`` (case and spaces as the login
    form ignores them)."""
    return f"{tenant}/{username.strip().casefold()}"


def address_key(remote: str | None) -> str:
    """The address counter's key of a client address: IPv4 (or IPv4-mapped IPv6) as is, IPv6
    as its /64; anything else (no address known) as given."""
    try:
        ip = ipaddress.ip_address(remote or "")
    except ValueError:
        return remote or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip.packed, 64), strict=False))
    return str(ip)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt counted in both windows, to be checked now."""

    account: Reservation
    address: Reservation


class LoginThrottle:
    """The two windows of the sign-in forms (login, reset, change of password, OpenID link)."""

    def __init__(self, accounts: AttemptCounter, addresses: AttemptCounter) -> None:
        self.accounts = accounts
        self.addresses = addresses

    @classmethod
    def for_database(cls, db: Database, clock: Clock) -> LoginThrottle:
        """Counters shared through ``db`` when it is PostgreSQL, in memory otherwise."""
        return cls(attempt_counter(db, "login-account", ACCOUNT_LIMIT, WINDOW, clock),
                   attempt_counter(db, "login-address", ADDRESS_LIMIT, WINDOW, clock))

    async def attempt(self, account: str, address: str) -> Attempt | timedelta:
        """Count an attempt on ``account`` (:func:`account_key`, or another namespace's key)
        from ``address`` (:func:`address_key`) before its proof is checked; or, counting
        nothing, how long to wait (``Retry-After``)."""
        on_account = await self.accounts.reserve(account)
        if on_account.wait is not None:
            return on_account.wait
        from_address = await self.addresses.reserve(address)
        if from_address.wait is not None:
            await self.accounts.release(on_account)
            return from_address.wait
        return Attempt(on_account, from_address)

    async def release(self, attempt: Attempt) -> None:
        """The attempt was no failed guess (the proof held, or nothing was checked): it counts
        in neither window."""
        await self.accounts.release(attempt.account)
        await self.addresses.release(attempt.address)

    async def failed(self, account: str, address: str) -> None:
        """Count a failure checked elsewhere, with nothing reserved before (an OpenID
        provider's refusal of the callback's code)."""
        await self.accounts.record(account)
        await self.addresses.record(address)

"""State that replicas share through the database, and nothing else (issue 9).

Each kind is a small :class:`~typing.Protocol` with an in-memory implementation (one process:
the SQLite instance) and a PostgreSQL one (any number of replicas on one database), held to one
contract suite (``tests/shared_state``):

=====================  ==========================  ======================================
protocol               used by                     PostgreSQL implementation
=====================  ==========================  ======================================
:class:`AttemptCounter`  login and proof throttles    ``throttle_attempt`` rows, digests
:class:`RateBuckets`     per-recipient rate limit    one atomic upsert ... RETURNING
:class:`QuotaLedger`     upstream quota limiter      ring of slots, leased (quota_leases)
:class:`TokenStore`      upstream application token  sealed row, upsert
=====================  ==========================  ======================================

The functions below pick the implementation for a database: PostgreSQL gets the shared one,
SQLite the in-memory one (an SQLite file serves one process).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from consent.clock import Clock
from consent.shared_state.attempts import (
    AttemptCounter,
    DatabaseAttempts,
    MemoryAttempts,
    Reservation,
)
from consent.shared_state.buckets import (
    DatabaseBuckets,
    LeasedBuckets,
    MemoryBuckets,
    RateBuckets,
)
from consent.shared_state.quota import (
    DatabaseLedger,
    MemoryLedger,
    QuotaLedger,
    SlidingWindow,
)
from consent.shared_state.quota_leases import LeasedLedger
from consent.shared_state.tokens import CachedToken, DatabaseTokens, MemoryTokens, TokenStore
from consent.storage.database import Database

__all__ = [
    "AttemptCounter", "CachedToken", "QuotaLedger", "RateBuckets", "Reservation", "SlidingWindow",
    "TokenStore", "attempt_counter", "is_shared", "quota_ledger", "rate_buckets",
    "token_store",
]


def is_shared(db: Database) -> bool:
    """True when ``db`` can be shared by several processes (PostgreSQL)."""
    return db.dialect == "postgresql"


def attempt_counter(db: Database, name: str, limit: int, window: timedelta,
                    clock: Clock) -> AttemptCounter:
    """An attempt counter for ``db``'s deployment."""
    if is_shared(db):
        return DatabaseAttempts(db, name, limit, window, clock)
    return MemoryAttempts(limit, window, clock)


def rate_buckets(db: Database, name: str, rate: float, burst: int) -> RateBuckets:
    """Token buckets for ``db``'s deployment (replicas lease tokens from the shared table)."""
    if is_shared(db):
        return LeasedBuckets(DatabaseBuckets(db, name, rate, burst))
    return MemoryBuckets(rate, burst)


def quota_ledger(db: Database | None, windows: Sequence[SlidingWindow]) -> QuotaLedger:
    """A quota ledger over ``windows`` for ``db``'s deployment (memory without a database)."""
    if db is not None and is_shared(db):
        return LeasedLedger(DatabaseLedger(db, windows))
    return MemoryLedger(windows)


def token_store(db: Database, secret: bytes) -> TokenStore:
    """An application-token store for ``db``'s deployment."""
    if is_shared(db):
        return DatabaseTokens(db, secret)
    return MemoryTokens()

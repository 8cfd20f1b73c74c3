"""Where the operator's application tokens at DSOs live between requests.

A DSO hands the operator's *application* one access token (OAuth 2.0 client credentials,
RFC 6749 §4.4) that reads every authorised point, and may allow only a few live at once. So
replicas share it: the first one that needs a token fetches it and stores it here, the others
read it. Renewals are serialised through the store (:meth:`TokenStore.renewal`): replicas
whose copies go stale at the same instant would otherwise each fetch one within the token
endpoint's round trip (three replicas, three live tokens). :class:`MemoryTokens` serves one
process; :class:`DatabaseTokens` keeps tokens in the ``upstream_token`` table, sealed with
AES-256-GCM under a key derived from the instance's cache secret (``PASSERELLE_CACHE_KEY``),
bound to their row, so a database dump does not hand out working credentials. The row key is
a digest of the entry key (token endpoint, client id, scope). A token never appears in a log
line, an error or a ``repr``.

The methods are those of the adapters' token cache, so either implementation can back it.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from consent.shared_state.tables import UpstreamToken
from consent.storage.database import Database
from consent.storage.row_lock import read_for_update

_TABLE: sa.Table = UpstreamToken.__table__  # type: ignore[attr-defined]
_NONCE = 12


@dataclass(frozen=True, slots=True)
class CachedToken:
    """An access token and the instant it stops being valid."""

    value: str
    expires_at: datetime

    def __repr__(self) -> str:  # never print the token itself
        return f"CachedToken(expires_at={self.expires_at.isoformat()})"


@runtime_checkable
class TokenStore(Protocol):
    """Application tokens by entry key (endpoint, client id, scope; never a secret)."""

    async def get(self, key: str) -> CachedToken | None:
        """The token stored under ``key``, if any (expired ones may be returned)."""
        ...

    async def put(self, key: str, token: CachedToken) -> None:
        """Store ``token`` under ``key``, replacing any previous one."""
        ...

    async def discard(self, key: str, value: str) -> None:
        """Forget the token under ``key`` if it is still ``value`` (the DSO refused it)."""
        ...

    def renewal(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held while renewing ``key``'s token: one holder at a time, across every user of the
        store. The holder reads the store again inside (a token stored by the previous holder
        is used, not fetched again) and stores what it fetched before leaving."""
        ...


class MemoryTokens:
    """A :class:`TokenStore` for one process."""

    def __init__(self) -> None:
        self._tokens: dict[str, CachedToken] = {}
        self._renewals: dict[str, asyncio.Lock] = {}

    async def get(self, key: str) -> CachedToken | None:
        return self._tokens.get(key)

    async def put(self, key: str, token: CachedToken) -> None:
        self._tokens[key] = token

    async def discard(self, key: str, value: str) -> None:
        current = self._tokens.get(key)
        if current is not None and current.value == value:
            del self._tokens[key]

    def renewal(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._renewals.setdefault(key, asyncio.Lock())


class DatabaseTokens:
    """A :class:`TokenStore` in the ``upstream_token`` table, sealed (see the module docstring).

    ``secret`` is the instance's 32-byte cache secret; a row sealed under another secret reads
    as absent (the token is fetched again).
    """

    def __init__(self, db: Database, secret: bytes) -> None:
        self.db = db
        self._aead = AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                                 info=b"passerelle upstream token").derive(secret))

    @staticmethod
    def _row_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def _open(self, row_key: str, sealed: bytes) -> str | None:
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:],
                                      row_key.encode()).decode()
        except Exception:  # a foreign or damaged row is simply no token
            return None

    async def get(self, key: str) -> CachedToken | None:
        row_key = self._row_key(key)
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(sa.select(_TABLE.c.sealed, _TABLE.c.expires_at).where(
                _TABLE.c.key == row_key))).first()
        if row is None:
            return None
        value = self._open(row_key, row.sealed)
        return CachedToken(value, row.expires_at) if value is not None else None

    async def put(self, key: str, token: CachedToken) -> None:
        row_key = self._row_key(key)
        nonce = secrets.token_bytes(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, token.value.encode(), row_key.encode())
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        statement = insert(_TABLE).values(key=row_key, sealed=sealed,
                                          expires_at=token.expires_at)
        # An upsert: two replicas storing a fresh token at once must not collide.
        statement = statement.on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={"sealed": statement.excluded.sealed,
                  "expires_at": statement.excluded.expires_at})
        async with self.db.engine.begin() as conn:
            await conn.execute(statement)

    @asynccontextmanager
    async def renewal(self, key: str) -> AsyncIterator[None]:
        """A transaction-scoped advisory lock on the entry (PostgreSQL; it exists before the
        row does), held on a connection of its own while the holder fetches: the token
        endpoint's round trip, about once an hour. Released when that transaction ends."""
        async with self.db.engine.connect() as conn:  # rolled back on leaving: the lock goes
            if self.db.dialect == "postgresql":
                lock = int.from_bytes(bytes.fromhex(self._row_key(key))[:8], "big", signed=True)
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
            yield

    async def discard(self, key: str, value: str) -> None:
        row_key = self._row_key(key)
        async with self.db.engine.begin() as conn:
            # Locked before the comparison: a fresh token another replica stores meanwhile is
            # not the refused one, and stays.
            row = (await read_for_update(conn, sa.select(_TABLE.c.sealed).where(
                _TABLE.c.key == row_key))).first()
            if row is not None and self._open(row_key, row.sealed) == value:
                await conn.execute(sa.delete(_TABLE).where(_TABLE.c.key == row_key))

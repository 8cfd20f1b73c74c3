"""The async database handle: one engine, sessions, migrations.

SQLite (``sqlite+aiosqlite:///path``) is the embedded default; PostgreSQL
(``postgresql+asyncpg://...``) is production. The same code and migrations serve both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import PasserelleError
from consent.storage.change_feed import ChangeFeed

if TYPE_CHECKING:
    from consent.invalidation import InvalidationBus


def normalise_url(url: str) -> str:
    """Map plain ``sqlite:``/``postgresql:`` URLs to their async drivers, and libpq's
    ``sslmode=`` (what operators copy from their provider) to asyncpg's ``ssl=``, which takes
    the same modes (asyncpg refuses ``sslmode`` as an unknown argument)."""
    if url.startswith("sqlite:///") or url == "sqlite://":
        return "sqlite+aiosqlite" + url[len("sqlite"):]
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+asyncpg://") and "sslmode=" in url:
        parsed = make_url(url)
        mode = parsed.query.get("sslmode")
        if isinstance(mode, str) and "ssl" not in parsed.query:
            url = (parsed.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})
                   .render_as_string(hide_password=False))
    return url


#: SQLite ``PRAGMA synchronous`` levels accepted (WAL mode). ``full`` syncs the log at every
#: commit: a committed transaction survives a power loss. ``normal`` syncs only at checkpoints:
#: a committed transaction survives the process being killed (the OS holds the write) but the
#: last ones may be lost if the machine loses power. ``extra`` also syncs the directory.
SQLITE_SYNCHRONOUS = ("normal", "full", "extra")

#: SQLite's own ``wal_autocheckpoint`` (pages): the committing connection checkpoints the log
#: once it is that long. A server raises it and checkpoints in the background instead
#: (:mod:`consent.storage.wal_checkpoints`).
SQLITE_AUTOCHECKPOINT = 1000


class DatabaseUnavailable(PasserelleError):
    """The database cannot be reached right now (restarting, failing over, overloaded): a
    503 with ``Retry-After``, never a 500. Nothing was written (the transaction rolled back)."""

    status = 503
    code = "database-unavailable"
    title = "Database unavailable"

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` (RFC 9110 §10.2.3): a fail-over takes seconds."""
        return {"Retry-After": "2"}


_DISCONNECTS = (exc.TimeoutError, ConnectionError, asyncpg.PostgresConnectionError,
                asyncpg.CannotConnectNowError, asyncpg.InterfaceError,
                asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
                asyncpg.TooManyConnectionsError)


def is_outage(error: BaseException) -> bool:
    """True if ``error`` means the database could not be reached or dropped the connection,
    as opposed to a query it refused (a bug, or a constraint). SQLAlchemy wraps the driver's
    error (``orig``), which wraps asyncpg's (``__cause__``): the whole chain is looked at."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, exc.DBAPIError) and (current.connection_invalidated or isinstance(
                current, exc.OperationalError | exc.InterfaceError)):
            return True
        if isinstance(current, _DISCONNECTS):
            return True
        orig = current.orig if isinstance(current, exc.DBAPIError) else None
        current = orig if orig is not None and id(orig) not in seen else current.__cause__
    return False


#: Key of the PostgreSQL advisory lock held while migrating (any constant of our own: the
#: ASCII of "passmigr"), so that replicas starting at once cannot run migrations side by side.
MIGRATION_LOCK = 0x706173736D696772

#: Connections kept open per engine, and extra ones allowed (closed after use) under bursts.
POOL_SIZE = 20
POOL_OVERFLOW = 20


class Database:
    """Owns the engine. Create with :meth:`from_url`, close with :meth:`dispose`.

    ``changes`` tells subscribers, after each commit, which cached reads its writes may have
    made stale (:mod:`consent.storage.change_feed`).
    """

    def __init__(self, engine: AsyncEngine, *, sqlite_synchronous: str = "full",
                 sqlite_autocheckpoint: int = SQLITE_AUTOCHECKPOINT) -> None:
        self.engine = engine
        self.sqlite_synchronous = sqlite_synchronous
        self.sqlite_autocheckpoint = sqlite_autocheckpoint
        self.changes = ChangeFeed(engine.sync_engine)
        #: The engine for single reads on the hot path (same pool). On PostgreSQL it runs in
        #: autocommit: a read is then one round trip, not BEGIN, SELECT and the ROLLBACK of
        #: the pool's reset (half the time). SQLite's reads never open a transaction anyway.
        self.reader: AsyncEngine = (engine.execution_options(isolation_level="AUTOCOMMIT")
                                    if engine.dialect.name == "postgresql" else engine)

    @classmethod
    def from_url(cls, url: str, *, sqlite_synchronous: str = "full",
                 sqlite_autocheckpoint: int = SQLITE_AUTOCHECKPOINT,
                 **engine_options: Any) -> Database:
        """Build the engine for ``url`` (SQLite gets WAL, ``sqlite_synchronous`` (see
        :data:`SQLITE_SYNCHRONOUS`), ``sqlite_autocheckpoint`` and foreign keys on).

        Pooled backends keep :data:`POOL_SIZE` connections: SQLAlchemy's default (5, and up to
        10 more opened and *closed* again per burst) makes a busy server open a connection
        (a thread for aiosqlite, a TCP session for PostgreSQL) for most requests.
        """
        url = normalise_url(url)
        if url.startswith("postgresql") or (url.startswith("sqlite") and ":memory:" not in url
                                            and url not in ("sqlite+aiosqlite://",)):
            engine_options = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW,
                              **engine_options}
        if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS}")
        if sqlite_autocheckpoint < 1:
            raise ValueError("sqlite_autocheckpoint must be at least 1 page")
        engine = create_async_engine(url, **engine_options)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect",
                         sqlite_pragmas(sqlite_synchronous, sqlite_autocheckpoint))
        return cls(engine, sqlite_synchronous=sqlite_synchronous,
                   sqlite_autocheckpoint=sqlite_autocheckpoint)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite database's file, or ``None`` (PostgreSQL, or SQLite in memory)."""
        path = self.engine.url.database
        if self.dialect != "sqlite" or not path or path == ":memory:":
            return None
        return path

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error."""
        async with AsyncSession(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def asyncpg_dsn(self) -> str:
        """PostgreSQL only: a libpq-style DSN for connections asyncpg opens itself (the
        invalidation listener, the access-event writer). Holds the password: never log it."""
        return self.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)

    def invalidation_bus(self, *, delay_observer: Callable[[float], None] | None = None
                         ) -> InvalidationBus:
        """A bus for this database's readers (not started), fed by its change feed: in-process
        for SQLite, ``LISTEN``/``NOTIFY`` shared by the replicas for PostgreSQL (whose
        ``delay_observer`` gets each peer message's delay, in seconds)."""
        from consent.invalidation import LocalBus
        from consent.storage.pg_bus import PostgresBus

        bus: InvalidationBus
        if self.dialect == "postgresql":
            bus = PostgresBus(self.asyncpg_dsn(), self.changes, delay_observer=delay_observer)
        else:
            bus = LocalBus()
        self.changes.subscribe(bus.deliver)
        return bus

    @asynccontextmanager
    async def relaxed(self) -> AsyncIterator[AsyncConnection]:
        """A transaction whose commit does not wait for the WAL flush (PostgreSQL
        ``synchronous_commit = off``): for state that may lose its last milliseconds in a
        database crash without harm (rate limits, quota counters), never for consents or
        evidence. Still atomic and consistent; only durability is relaxed."""
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(text("SET LOCAL synchronous_commit = off"))
            yield conn

    async def migrate(self) -> str | None:
        """Upgrade the schema to the newest revision and return it (``None`` only while no
        revision exists). Idempotent: safe to run at every start.

        On PostgreSQL the whole upgrade runs under a transaction-scoped advisory lock: a second
        process migrating at the same moment waits, then finds the schema at head and does
        nothing (two would otherwise both create the same tables, and one would fail).
        """
        from consent.storage import migrate

        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": MIGRATION_LOCK})
            await conn.run_sync(migrate.upgrade)
            return await conn.run_sync(migrate.current_revision)

    async def ping(self) -> bool:
        """True if the database answers a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def sqlite_pragmas(synchronous: str, autocheckpoint: int = SQLITE_AUTOCHECKPOINT
                   ) -> Callable[[Any, Any], None]:
    """The ``connect`` hook of every SQLite connection of ours (the pool's and the writers')."""
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers proceed while the single writer commits; foreign keys are off by
        # default in SQLite and every integrity rule of ours relies on them.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")  # checked: a known level
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return on_connect

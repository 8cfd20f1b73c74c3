"""Core statements compiled once per dialect, for the few statements on every request's path.

``conn.execute(statement)`` builds the statement's cache key on every call (a walk over the whole
expression, about as costly as running the SQL on SQLite); a :class:`Compiled` statement pays
the compilation once and is then run with ``conn.exec_driver_sql(c.sql, c.params(values))``, one
call for one row or, given a list of rows, one ``executemany``. The parameters go through the
bound columns' own type processors, so what is written reads back through the ORM exactly as if
the ORM had written it. Used by the access-event writers and the evidence log's integrator.

:meth:`Compiled.run` goes one step further for the statements every durable batch runs: it
hands the SQL to the connection's DBAPI cursor directly, inside the transaction SQLAlchemy
opened. ``exec_driver_sql`` builds an execution context and a result object around each call
(about 20 us of CPU, as much as SQLite takes to run a small statement); these statements need
neither, with one exception that :meth:`Compiled.run` enforces: the change feed
(:mod:`consent.storage.change_feed`) learns of writes from SQLAlchemy's
``after_cursor_execute`` event, which a statement run on the cursor does not fire; so ``run``
refuses any statement that writes a table some cache reads (only the access events, the
evidence log's tables and the like, :data:`~consent.storage.change_feed.UNCACHED_TABLES`, may
go this way). What the statements return (a row count, rows) the cursor has. A driver error
is raised as SQLAlchemy would have raised it (same exception classes, connection invalidated
on a disconnect), so callers and the outage test see no difference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from consent.storage.change_feed import statement_topics

__all__ = ["Compiled", "compiled_for"]


class Compiled:
    """``statement`` compiled for ``dialect``. Insert statements are compiled for every column
    of their table unless ``column_keys`` says which; other statements name their parameters
    with ``bindparam``."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, *,
                 column_keys: list[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        assert isinstance(compiled, SQLCompiler)  # a Core statement, not DDL
        self.sql: str = compiled.string
        self.positional = bool(compiled.positional)
        names = list(compiled.positiontup or compiled.binds)
        self._fields: list[tuple[str, str, Callable[[Any], Any] | None]] = []
        for name in names:
            bind = compiled.binds[name]
            self._fields.append((name, bind.key, bind.type.bind_processor(dialect)))
        # A batch's rows are built value by value: take them all in one C call, then convert
        # only those whose type has a processor (on SQLite, a few of an insert's columns).
        keys = [key for _name, key, _process in self._fields]
        self._take = (itemgetter(*keys) if len(keys) > 1
                      else (lambda values: (values[keys[0]],)) if keys else (lambda values: ()))
        self._processed = [(i, process) for i, (_name, _key, process) in enumerate(self._fields)
                           if process is not None]
        #: The caches it would leave stale if run without SQLAlchemy's events (see above).
        self.invalidates = statement_topics(self.sql)

    @property
    def keys(self) -> list[str]:
        """The bind keys in parameter order (for an insert: its columns, in its order)."""
        return [key for _name, key, _process in self._fields]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver parameters of one execution (``values`` by bind key)."""
        if self.positional:
            if not self._processed:
                return tuple(self._take(values))
            row = list(self._take(values))
            for i, process in self._processed:
                row[i] = process(row[i])
            return tuple(row)
        return {name: process(values[key]) if process is not None else values[key]
                for name, key, process in self._fields}

    def run(self, conn: Connection,
            values: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Any:
        """Run on ``conn``'s DBAPI cursor, in its open transaction: one row's ``values``, or a
        sequence of rows as one ``executemany``. Returns the cursor (``rowcount``,
        ``fetchall``). Only for statements that write no cached table (module docstring)."""
        self._refuse_cached()
        driver: Any = conn.connection.dbapi_connection
        cursor: Any = driver.cursor()
        many = not isinstance(values, Mapping)
        try:
            if isinstance(values, Mapping):
                cursor.execute(self.sql, self.params(values))
            else:
                cursor.executemany(self.sql, [self.params(row) for row in values])
        except Exception as error:
            raise _wrapped(conn, driver, cursor, self.sql, error, many) from error
        return cursor

    async def fetch_row(self, conn: AsyncConnection, values: Mapping[str, Any]) -> Any:
        """Run alone on ``conn``'s asyncpg connection (PostgreSQL; ``conn`` in autocommit: the
        statement commits alone) and return its first row. Same rule as :meth:`run`; asyncpg's
        own errors arrive as they are (:func:`~consent.storage.database.is_outage` knows them)."""
        self._refuse_cached()
        driver: Any = (await conn.get_raw_connection()).driver_connection
        return await driver.fetchrow(self.sql, *self.params(values))

    def _refuse_cached(self) -> None:
        if self.invalidates:
            raise ValueError(f"{self.sql[:60]!r} writes a cached table: run it through "
                             "SQLAlchemy, whose events tell the change feed")


def _wrapped(conn: Connection, driver: Any, cursor: Any, sql: str, error: Exception,
             many: bool) -> BaseException:
    """The driver's ``error`` as SQLAlchemy would have raised it through ``exec_driver_sql``
    (``IntegrityError``, ``OperationalError``...: callers catch those, and
    :func:`~consent.storage.database.is_outage` tells a lost database by them), the
    connection invalidated if the database dropped it, the parameters never shown."""
    dialect = conn.dialect
    base = dialect.loaded_dbapi.Error
    if not isinstance(error, base):
        return error
    dropped = dialect.is_disconnect(error, driver, cursor)
    if dropped:
        conn.invalidate(error)
    return DBAPIError.instance(sql, None, error, base, hide_parameters=True,
                               connection_invalidated=dropped, dialect=dialect, ismulti=many)


_CACHE: dict[tuple[str, str, str], Compiled] = {}


def compiled_for(name: str, dialect: Dialect, build: Callable[[], ClauseElement], *,
                 column_keys: list[str] | None = None) -> Compiled:
    """The statement ``build()`` compiled once for ``dialect`` and remembered as ``name``."""
    key = (name, dialect.name, dialect.driver)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = Compiled(build(), dialect, column_keys=column_keys)
    return found

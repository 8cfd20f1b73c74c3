"""Core statements compiled once per dialect, for the few statements on every request's path.

``conn.execute(statement)`` builds the statement's cache key on every call (a walk over the whole
expression, about as costly as running the SQL on SQLite); a :class:`Compiled` statement pays
the compilation once and is then run with ``conn.exec_driver_sql(c.sql, c.params(values))``, one
call for one row or, given a list of rows, one ``executemany``. The parameters go through the
bound columns' own type processors, so what is written reads back through the ORM exactly as if
the ORM had written it. Used by the access-event writers and the evidence log's integrator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

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

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver parameters of one execution (``values`` by bind key)."""
        if self.positional:
            return tuple(process(values[key]) if process is not None else values[key]
                         for _name, key, process in self._fields)
        return {name: process(values[key]) if process is not None else values[key]
                for name, key, process in self._fields}


_CACHE: dict[tuple[str, str, str], Compiled] = {}


def compiled_for(name: str, dialect: Dialect, build: Callable[[], ClauseElement], *,
                 column_keys: list[str] | None = None) -> Compiled:
    """The statement ``build()`` compiled once for ``dialect`` and remembered as ``name``."""
    key = (name, dialect.name, dialect.driver)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = Compiled(build(), dialect, column_keys=column_keys)
    return found

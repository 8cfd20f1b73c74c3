"""The evidence log integrator's statements, compiled once per dialect: they run in every batch
of the data path (see :mod:`consent.storage.compiled`). Parameters are bound by name (``log``,
``now``, ``size_was``...), so one compiled form serves every batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, LargeBinary, bindparam, select, text, update
from sqlalchemy.engine import Dialect

from consent.evidence.log_reader import ENTRY, HEAD, NODE
from consent.storage.compiled import Compiled, compiled_for


def statement(name: str, conn: Connection) -> Compiled:
    """The statement ``name`` (a key of :data:`_STATEMENTS`) compiled for ``conn``'s dialect."""
    return statement_for(name, conn.dialect)


def statement_for(name: str, dialect: Dialect) -> Compiled:
    """:func:`statement` for ``dialect`` (a writer that sends the SQL by other means)."""
    return compiled_for(f"evidence-log.{name}", dialect, _STATEMENTS[name],
                        column_keys=_COLUMNS.get(name))


_STATEMENTS: dict[str, Callable[[], Any]] = {
    "touch": lambda: update(HEAD).where(HEAD.c.log_id == bindparam("log")).values(
        updated_at=bindparam("now")),
    "touch_returning": lambda: update(HEAD).where(HEAD.c.log_id == bindparam("log")).values(
        updated_at=bindparam("now")).returning(HEAD.c.size, HEAD.c.root),
    "read_head": lambda: select(HEAD.c.size, HEAD.c.root).where(
        HEAD.c.log_id == bindparam("log")),
    # The first append ever: two replicas (or two writers of one) may both find no head row;
    # the loser of the race inserts nothing and locks the winner's row like any later append.
    "create_head": lambda: text(
        f"INSERT INTO {HEAD.name} (log_id, origin, size, root, updated_at) "  # noqa: S608
        "VALUES (:log, :origin, 0, :root, :now) ON CONFLICT (log_id) DO NOTHING"
    ).bindparams(bindparam("root", type_=LargeBinary)),
    "insert_entry": lambda: ENTRY.insert(),
    "insert_node": lambda: NODE.insert(),
    "advance": lambda: update(HEAD).where(HEAD.c.log_id == bindparam("log"),
                                          HEAD.c.size == bindparam("size_was")).values(
        size=bindparam("new_size"), root=bindparam("new_root"), updated_at=bindparam("now")),
}
_COLUMNS: dict[str, list[str]] = {
    "insert_entry": [c.key for c in ENTRY.columns if c.key not in ("pruned_at",
                                                                      "prune_reason")],
    "insert_node": ["level", "idx", "hash"],
}

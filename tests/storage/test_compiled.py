"""Compiled statements run on the driver's cursor fail exactly as SQLAlchemy's path would:
the same exception classes (callers catch ``IntegrityError``; ``is_outage`` reads
``OperationalError``), the parameters never shown, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from consent.evidence.log_reader import NODE
from consent.evidence.log_statements import _COLUMNS, _STATEMENTS
from consent.models import Consent
from consent.shared_state.quota import _take_statement
from consent.storage import Database
from consent.storage.compiled import Compiled
from consent.storage.database import is_outage

SECRET_LOOKING = b"parameter-bytes-that-must-not-show"


async def _failure(db: Database, run: Callable[[sa.Connection], Any]) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        async with db.engine.begin() as conn:
            await conn.run_sync(run)
    return caught.value


async def test_driver_errors_arrive_as_sqlalchemy_raises_them(db: Database) -> None:
    insert = Compiled(sa.insert(NODE), db.engine.dialect, column_keys=["level", "idx", "hash"])
    row = {"level": 0, "idx": 7, "hash": SECRET_LOOKING}
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: insert.run(c, [row]))

    for values in (row, [row], [{**row, "idx": 8}, row]):  # one row, executemany, a batch

        def on_cursor(conn: sa.Connection, values: Any = values) -> Any:
            return insert.run(conn, values)

        def through_exec_driver_sql(conn: sa.Connection, values: Any = values) -> Any:
            params = ([insert.params(r) for r in values] if isinstance(values, list)
                      else insert.params(values))
            return conn.exec_driver_sql(insert.sql, params)

        raw = await _failure(db, on_cursor)
        through_sqlalchemy = await _failure(db, through_exec_driver_sql)
        assert isinstance(raw, IntegrityError)
        assert type(raw) is type(through_sqlalchemy)
        assert SECRET_LOOKING.decode() not in str(raw)
        assert not raw.connection_invalidated
    async with db.engine.connect() as conn:  # the failed batches wrote nothing
        assert (await conn.execute(sa.select(sa.func.count()).select_from(NODE))).scalar() == 1

    missing = Compiled(sa.text("SELECT nothing FROM no_such_table"), db.engine.dialect)
    raw = await _failure(db, lambda c: missing.run(c, {}))
    through_sqlalchemy = await _failure(db, lambda c: c.exec_driver_sql(missing.sql))
    assert type(raw) is type(through_sqlalchemy)


def test_a_locked_sqlite_database_is_an_outage_through_the_cursor_too(tmp_path: Path) -> None:
    # (From review.) The evidence flusher's first statement finding the write lock taken past
    # the busy timeout must be a 503 (is_outage), as it was through exec_driver_sql.
    url = f"sqlite:///{tmp_path}/locked.db"
    holder, waiter = (sa.create_engine(url, connect_args={"timeout": 0}) for _ in range(2))
    # (named like a table the change feed ignores: run() refuses the others)
    table = sa.Table("access_event", sa.MetaData(),
                     sa.Column("k", sa.Integer, primary_key=True))
    table.metadata.create_all(holder)
    insert = Compiled(table.insert(), holder.dialect)
    with holder.connect() as first, waiter.connect() as second:
        first.exec_driver_sql("BEGIN IMMEDIATE")
        first.exec_driver_sql("INSERT INTO access_event VALUES (5)")
        with pytest.raises(OperationalError) as caught, second.begin():
            insert.run(second, {"k": 2})
    assert is_outage(caught.value)
    holder.dispose()
    waiter.dispose()


async def test_statements_that_write_cached_tables_are_refused(db: Database) -> None:
    # The change feed hears of writes through SQLAlchemy's events, which the cursor skips:
    # a consent written this way would stay stale in every replica's caches.
    consents = Compiled(sa.update(Consent.__table__).values(purpose="x"),  # type: ignore[attr-defined]
                        db.engine.dialect)
    assert consents.invalidates
    with pytest.raises(ValueError, match="cached table"):
        consents.run(None, {"purpose": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cached table"):
        await consents.fetch_row(None, {"purpose": "x"})  # type: ignore[arg-type]
    assert not Compiled(_take_statement(2), db.engine.dialect).invalidates  # quota_slot
    for name in ("insert_entry", "insert_node", "advance", "touch_returning", "create_head"):
        assert not Compiled(_STATEMENTS[name](), db.engine.dialect,
                            column_keys=_COLUMNS.get(name)).invalidates, name

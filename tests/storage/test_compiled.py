"""Compiled statements run on the driver's cursor fail exactly as SQLAlchemy's path would:
the same exception classes (callers catch ``IntegrityError``; ``is_outage`` reads
``OperationalError``), the parameters never shown, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from consent.evidence.log_reader import NODE
from consent.storage import Database
from consent.storage.compiled import Compiled

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
        raw = await _failure(db, lambda c, v=values: insert.run(c, v))
        through_sqlalchemy = await _failure(db, lambda c, v=values: c.exec_driver_sql(
            insert.sql, [insert.params(r) for r in v] if isinstance(v, list)
            else insert.params(v)))
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

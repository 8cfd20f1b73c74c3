"""The contract of :func:`consent.storage.row_lock.read_for_update`, on both backends: a
transaction that read a row through it is that row's only writer until it ends, so concurrent
read-modify-writes never lose an update. Every test here fails if the helper is replaced by a
plain read (``conn.execute(query)``)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from consent.storage import Database
from consent.storage.row_lock import read_for_update

_METADATA = sa.MetaData()
COUNTER = sa.Table("row_lock_probe", _METADATA,
                   sa.Column("id", sa.String, primary_key=True),
                   sa.Column("n", sa.Integer, nullable=False))


async def _with_counter(db: Database) -> AsyncIterator[Database]:
    async with db.engine.begin() as conn:
        await conn.run_sync(_METADATA.create_all)
        await conn.execute(COUNTER.insert().values(id="c", n=0))
    yield db
    async with db.engine.begin() as conn:  # PostgreSQL test databases are recycled
        await conn.run_sync(_METADATA.drop_all)


@pytest.fixture
async def counter(db: Database) -> AsyncIterator[Database]:
    """``db`` (both backends) with a table of one counter row, ``"c"`` at 0."""
    async for database in _with_counter(db):
        yield database


@pytest.fixture
async def pg_counter(pg: Database) -> AsyncIterator[Database]:
    """:func:`counter` on PostgreSQL only."""
    async for database in _with_counter(pg):
        yield database


def _value() -> sa.Select[int]:
    return sa.select(COUNTER.c.n).where(COUNTER.c.id == "c")


async def _increment(db: Database) -> None:
    async with db.engine.begin() as conn:
        n = (await read_for_update(conn, _value())).scalar_one()
        for _ in range(3):  # let every other transaction run as far as it can meanwhile
            await asyncio.sleep(0)
        await conn.execute(sa.update(COUNTER).where(COUNTER.c.id == "c").values(n=n + 1))


async def _stored(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(_value())).scalar_one())


async def test_concurrent_increments_lose_no_update(counter: Database) -> None:
    await asyncio.gather(*(_increment(counter) for _ in range(20)))
    assert await _stored(counter) == 20


async def _another_writer_can_take(db: Database) -> bool:
    """Whether a second transaction could lock the counter row now, without waiting."""
    if db.dialect == "sqlite":
        other = sqlite3.connect(str(db.engine.url.database), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError as busy:
            if "locked" not in str(busy):
                raise
            return False
        finally:
            other.close()
    return await _can_lock_now(db, _value().with_for_update(nowait=True))


async def _can_lock_now(db: Database, query: sa.Select[int]) -> bool:
    """PostgreSQL: whether ``query`` (``... NOWAIT``) locks the row at once."""
    try:
        async with db.engine.begin() as conn:
            await conn.execute(query)
        return True
    except DBAPIError as busy:
        if "could not obtain lock" not in str(busy):
            raise
        return False


async def test_the_row_is_held_from_the_read_until_the_transaction_ends(
        counter: Database) -> None:
    async with counter.engine.begin() as conn:
        assert await _another_writer_can_take(counter)
        assert (await read_for_update(conn, _value())).scalar_one() == 0
        assert not await _another_writer_can_take(counter)
        await read_for_update(conn, _value())  # taking it again is harmless
    assert await _another_writer_can_take(counter)


@pytest.mark.postgres
async def test_key_share_lets_foreign_key_checks_through_on_postgresql(
        pg_counter: Database) -> None:
    """``key_share=True`` is ``FOR NO KEY UPDATE``: a row referencing the locked one (its
    foreign key check takes ``FOR KEY SHARE``) need not wait; without it, it would."""
    key_check = _value().with_for_update(key_share=True, read=True, nowait=True)
    for key_share in (True, False):
        async with pg_counter.engine.begin() as holder:
            await read_for_update(holder, _value(), key_share=key_share)
            assert await _can_lock_now(pg_counter, key_check) is key_share

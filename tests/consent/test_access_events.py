"""Access events are durable when ``append`` returns, and written with group commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from consent.access_events import (
    ACCESS_EVENT_TABLE,
    AccessEvent,
    AccessEventRow,
    GroupCommitSink,
    Outcome,
)
from consent.event_writers import CoreWriter, SqliteWriter, writer_for
from consent.storage import Database


@pytest.fixture
def database(db: Database) -> Database:
    """The shared ``db`` fixture: a migrated database, on SQLite and on PostgreSQL."""
    return db


def event(i: int) -> AccessEvent:
    return AccessEvent(at=datetime(2026, 6, 1, tzinfo=UTC), request_id=f"r{i}", api="native",
                       route="/api/v1/points/{point_id}/datasets/{dataset}",
                       outcome=Outcome.SERVED if i % 2 else Outcome.DENIED, status=200,
                       body_sha256="0" * 64, recipient_id="app-1", point="enedis:22516914714270",
                       dataset="daily_consumption", values=i, upstream=("dc 2026-05-01/05-08",))


async def count(db: Database) -> int:
    async with db.engine.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(
            AccessEventRow.__table__))).scalar_one()  # type: ignore[arg-type]


async def test_an_appended_event_is_already_committed(database: Database) -> None:
    sink = GroupCommitSink(database)
    sink.start()
    await sink.append(event(1))
    assert await count(database) == 1  # read through another connection
    await sink.close()


async def test_concurrent_events_share_commits(database: Database) -> None:
    sink = GroupCommitSink(database)
    sink.start()
    await asyncio.gather(*(sink.append(event(i)) for i in range(300)))
    assert await count(database) == 300
    assert sink.written == 300
    assert sink.commits < 300 // 10
    await sink.close()


async def test_a_failed_commit_fails_every_waiter_of_the_batch(database: Database) -> None:
    sink = GroupCommitSink(database)
    sink.start()
    orphan = replace(event(0), tenant_id="no-such-tenant")  # violates the tenant foreign key
    results = await asyncio.gather(sink.append(orphan), *(sink.append(event(i))
                                                          for i in range(1, 5)),
                                   return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    assert await count(database) == 0  # nothing of the failed batch was written
    await sink.append(event(9))  # the sink goes on
    assert await count(database) == 1
    await sink.close()


async def test_append_after_close_is_refused(database: Database) -> None:
    sink = GroupCommitSink(database)
    sink.start()
    await sink.close()
    with pytest.raises(RuntimeError):
        await sink.append(event(1))


def test_the_evidence_document_holds_no_float() -> None:
    doc = event(3).to_json()
    assert doc["at"] == "2026-06-01T00:00:00+00:00"
    assert doc["outcome"] == "served"
    assert doc["upstream"] == ["dc 2026-05-01/05-08"]
    assert not any(isinstance(v, float) for v in doc.values())


async def test_the_backends_writer_stores_what_the_orm_would(database: Database) -> None:
    full = replace(event(5), consent_id="c-1", window_start=datetime(2026, 5, 1, 22, tzinfo=UTC),
                   window_end=datetime(2026, 5, 8, 22, tzinfo=UTC), resolution="P1D",
                   rule="R6 dataset", reason="x" * 600, upstream_calls=2, cache_days=3,
                   upstream=("a", "b"))
    fast = writer_for(database, ACCESS_EVENT_TABLE)
    assert not isinstance(fast, CoreWriter)  # SQLite file or PostgreSQL: the driver's writer
    await fast.write([full])
    await fast.close()
    reference_writer = CoreWriter(database, ACCESS_EVENT_TABLE)
    await reference_writer.write([replace(full, id="reference")])
    await reference_writer.close()
    async with database.engine.connect() as conn:
        rows = {r.id: r._mapping for r in await conn.execute(sa.select(ACCESS_EVENT_TABLE))}
    ours, reference = rows.pop(full.id), rows.pop("reference")
    assert {k: v for k, v in ours.items() if k != "id"} == \
        {k: v for k, v in reference.items() if k != "id"}
    assert ours["window_start"] == full.window_start  # an aware instant, read back in UTC
    assert ours["upstream"] == ["a", "b"]
    assert len(ours["reason"]) == 500


async def test_sqlite_events_use_the_databases_synchronous_level(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path}/n.db", sqlite_synchronous="normal")
    writer = writer_for(db, ACCESS_EVENT_TABLE)
    assert isinstance(writer, SqliteWriter)
    assert writer.synchronous == "normal"
    async with db.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 1  # NORMAL
    await db.dispose()
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        Database.from_url(f"sqlite:///{tmp_path}/n.db", sqlite_synchronous="off")


async def test_a_stopped_writer_leaves_no_waiter_behind() -> None:
    from consent.group_commit import GroupCommit

    started, never = asyncio.Event(), asyncio.Event()

    async def stuck(batch: Sequence[int]) -> None:
        started.set()
        await never.wait()  # a write that never ends (a hung database)

    commits: GroupCommit[int] = GroupCommit(stuck, name="stuck")
    commits.start()
    first = asyncio.create_task(commits.submit(1))
    await started.wait()
    queued = asyncio.create_task(commits.submit(2))  # waits for the next batch
    await asyncio.sleep(0)
    assert commits._writer is not None
    commits._writer.cancel()  # the loop shutting down
    for waiter in (first, queued):
        with pytest.raises(RuntimeError, match="stuck stopped"):
            await asyncio.wait_for(waiter, 10)  # a guard against hanging, not a speed check
    with pytest.raises(RuntimeError, match="not running"):
        await commits.submit(3)  # refused at once, not left waiting

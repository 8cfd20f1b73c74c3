"""SQLite's write-ahead log checkpointed in the background (:mod:`consent.storage.wal_checkpoints`):
a server's commits no longer checkpoint inline, the checkpointer moves the log into the database
file on its own thread, survives a failing round, stops on close; the application wires both."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from consent.access_events import ACCESS_EVENT_TABLE
from consent.event_writers import SqliteWriter, writer_for
from consent.storage import Database
from consent.storage.database import SQLITE_AUTOCHECKPOINT
from consent.storage.wal_checkpoints import BACKSTOP_PAGES, WalCheckpointer, checkpointer_for
from proxy.app import create_app
from proxy.keys import database_key
from proxy.settings import Settings
from tests.ops.conftest import running

_METADATA = sa.MetaData()
BLOBS = sa.Table("wal_probe", _METADATA, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("body", sa.LargeBinary, nullable=False))
_PAGE = 4096


async def _open(path: Path, **options: int) -> Database:
    db = Database.from_url(f"sqlite:///{path}", **options)
    async with db.engine.begin() as conn:
        await conn.run_sync(_METADATA.create_all)
    return db


@pytest.fixture
async def backstopped(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite file opened as a server opens it (auto-checkpoint at the backstop)."""
    db = await _open(tmp_path / "b.db", sqlite_autocheckpoint=BACKSTOP_PAGES)
    yield db
    await db.dispose()


async def _write_pages(db: Database, pages: int) -> None:
    """About ``pages`` pages of log, in commits of 50 pages (each may checkpoint inline)."""
    for _ in range(pages // 50):
        async with db.engine.begin() as conn:
            await conn.execute(BLOBS.insert(), [{"body": os.urandom(_PAGE - 200)}
                                                for _ in range(50)])


def _size(path: Path) -> int:
    """The database file's size (what a checkpoint makes grow)."""
    return path.stat().st_size


async def _autocheckpoint(conn: sa.ext.asyncio.AsyncConnection) -> int:
    return int((await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one())


async def test_connections_take_the_auto_checkpoint_they_are_given(tmp_path: Path) -> None:
    plain = await _open(tmp_path / "plain.db")
    server = await _open(tmp_path / "server.db", sqlite_autocheckpoint=BACKSTOP_PAGES)
    try:
        async with plain.engine.connect() as a, server.engine.connect() as b:
            assert await _autocheckpoint(a) == SQLITE_AUTOCHECKPOINT
            assert await _autocheckpoint(b) == BACKSTOP_PAGES
    finally:
        await plain.dispose()
        await server.dispose()
    with pytest.raises(ValueError, match="at least 1"):
        Database.from_url(f"sqlite:///{tmp_path}/x.db", sqlite_autocheckpoint=0)


async def test_the_access_event_writer_keeps_the_databases_auto_checkpoint(
        backstopped: Database) -> None:
    """The writer opens a connection of its own: it must not checkpoint inline either."""
    writer = writer_for(backstopped, ACCESS_EVENT_TABLE)
    assert isinstance(writer, SqliteWriter)
    try:
        def pragma() -> int:
            conn = writer._conn = writer._conn or writer._connect()
            return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

        value = await asyncio.get_running_loop().run_in_executor(writer._thread, pragma)
    finally:
        await writer.close()
    assert value == BACKSTOP_PAGES


async def test_commits_past_sqlites_default_no_longer_checkpoint_inline(tmp_path: Path) -> None:
    """With SQLite's default a commit past 1,000 pages copies the log back itself, so the log
    never holds much more; at the backstop it keeps every frame for the checkpointer."""
    frames = {}
    for name, options in (("default", {}), ("server", {"sqlite_autocheckpoint": BACKSTOP_PAGES})):
        db = await _open(tmp_path / f"{name}.db", **options)
        checkpointer = WalCheckpointer(str(tmp_path / f"{name}.db"))
        try:
            await _write_pages(db, 2000)
            frames[name] = (await checkpointer.checkpoint()).log_frames
        finally:
            await checkpointer.close()
            await db.dispose()
    assert frames["default"] < 1200
    assert frames["server"] >= 2000


async def test_a_checkpoint_moves_the_whole_log_into_the_database_file(
        backstopped: Database, tmp_path: Path) -> None:
    checkpointer = WalCheckpointer(str(tmp_path / "b.db"))
    try:
        await _write_pages(backstopped, 300)
        before = _size(tmp_path / "b.db")
        done = await checkpointer.checkpoint()
        assert not done.busy
        assert done.log_frames >= 300
        assert done.checkpointed_frames == done.log_frames  # no reader held any back
        assert _size(tmp_path / "b.db") >= before + 300 * _PAGE
        again = await checkpointer.checkpoint()  # nothing new: nothing more to copy
        assert again.checkpointed_frames == again.log_frames == done.log_frames
    finally:
        await checkpointer.close()


async def test_the_background_loop_checkpoints_until_closed(backstopped: Database,
                                                           tmp_path: Path) -> None:
    checkpointer = WalCheckpointer(str(tmp_path / "b.db"), interval=0.02)
    checkpointer.start()
    checkpointer.start()  # a second start is the same loop
    await _write_pages(backstopped, 100)
    wanted = _size(tmp_path / "b.db") + 100 * _PAGE
    # Until every page is in (a round copies as it goes: the file may be seen half grown on a
    # loaded machine), for at most 10 s.
    for _ in range(500):
        if _size(tmp_path / "b.db") >= wanted:
            break
        await asyncio.sleep(0.02)
    assert _size(tmp_path / "b.db") >= wanted
    await checkpointer.close()
    runs = checkpointer.runs
    await asyncio.sleep(0.1)
    assert checkpointer.runs == runs
    await checkpointer.close()  # idempotent


async def test_a_failing_round_is_logged_and_the_next_one_still_runs(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a-directory").mkdir()  # SQLite cannot open it as a database
    checkpointer = WalCheckpointer(str(tmp_path / "a-directory"), interval=0.01)
    with caplog.at_level(logging.WARNING, logger="passerelle.storage"):
        checkpointer.start()
        for _ in range(300):
            if checkpointer.runs >= 3:
                break
            await asyncio.sleep(0.01)
        await checkpointer.close()
    assert checkpointer.runs >= 3
    assert "background WAL checkpoint failed" in caplog.text


async def test_only_a_sqlite_file_gets_a_checkpointer(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        WalCheckpointer(str(tmp_path / "x.db"), interval=0)
    memory = Database.from_url("sqlite://")
    server = Database.from_url("postgresql://nobody@127.0.0.1:1/none")
    file = Database.from_url(f"sqlite:///{tmp_path}/f.db")
    try:
        assert checkpointer_for(memory) is None
        assert checkpointer_for(server) is None
        found = checkpointer_for(file)
        assert found is not None
        assert found.path == f"{tmp_path}/f.db"
        await found.close()  # never started: closing is still clean
    finally:
        for db in (memory, server, file):
            await db.dispose()


async def test_the_server_checkpoints_in_the_background(tmp_path: Path) -> None:
    """The application opens its SQLite database at the backstop and checkpoints it itself:
    rows committed through the application reach the database file without any commit
    crossing SQLite's default threshold."""
    app = create_app(Settings(data_dir=tmp_path / "instance"))
    async with running(app) as client:
        assert (await client.get("/healthz")).status == 200
        db = app[database_key]
        assert db.sqlite_autocheckpoint == BACKSTOP_PAGES
        path = Path(db.sqlite_path or "")
        async with db.engine.begin() as conn:
            await conn.run_sync(_METADATA.create_all)
            await conn.execute(BLOBS.insert(), [{"body": os.urandom(_PAGE - 200)}
                                                for _ in range(100)])
        size_was = _size(path)
        for _ in range(100):  # the server's interval is 0.5 s
            if _size(path) >= size_was + 100 * _PAGE:
                break
            await asyncio.sleep(0.05)
        assert _size(path) >= size_was + 100 * _PAGE

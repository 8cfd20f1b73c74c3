"""The signed-head witness: its contract, and checkpoints refusing a rewritten log (§11)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from consent.clock import FrozenClock
from consent.evidence.checkpoints import Checkpoints
from consent.evidence.errors import EvidenceUnavailable, LogForked
from consent.evidence.events import LogEvent
from consent.evidence.keystore import MemoryKeyStore
from consent.evidence.log import EvidenceLog
from consent.evidence.tables import CheckpointRow, LogEntryRow, LogHeadRow, LogNodeRow
from consent.evidence.witness import (
    FileHeadWitness,
    HeadWitness,
    MemoryHeadWitness,
    WitnessedHead,
)
from consent.storage.database import Database

ORIGIN = "passerelle.test/evidence"
ROOT_A, ROOT_B = bytes(range(32)), bytes(range(1, 33))


@pytest.fixture(params=["memory", "file"])
def make_witness(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], HeadWitness]:
    """A factory of witnesses over one store (the file ones share their file)."""
    if request.param == "memory":
        witness = MemoryHeadWitness()
        return lambda: witness
    return lambda: FileHeadWitness(tmp_path / "witness" / "head.json")


async def test_contract_keeps_the_largest_head(make_witness: Callable[[], HeadWitness]) -> None:
    witness = make_witness()
    assert await witness.last() is None
    await witness.keep(WitnessedHead(ORIGIN, 5, ROOT_A))
    assert await make_witness().last() == WitnessedHead(ORIGIN, 5, ROOT_A)
    await witness.keep(WitnessedHead(ORIGIN, 4, ROOT_B))  # another process kept more first
    assert await witness.last() == WitnessedHead(ORIGIN, 5, ROOT_A)
    await witness.keep(WitnessedHead(ORIGIN, 9, ROOT_B))
    assert await witness.last() == WitnessedHead(ORIGIN, 9, ROOT_B)
    await witness.keep(WitnessedHead("other.test/evidence", 1, ROOT_A))  # another log
    assert await witness.last() == WitnessedHead("other.test/evidence", 1, ROOT_A)
    await witness.forget()
    assert await make_witness().last() is None


@pytest.mark.parametrize("content", ["", "{", '{"origin": "o", "size": -1, "root": "AA=="}',
                                     '{"origin": "o", "size": 1, "root": "AA=="}', "[]"])
async def test_a_damaged_file_is_an_error_not_a_fresh_start(tmp_path: Path,
                                                             content: str) -> None:
    path = tmp_path / "head.json"
    path.write_text(content)
    with pytest.raises(EvidenceUnavailable, match="damaged"):
        await FileHeadWitness(path).last()


async def test_the_file_is_replaced_whole(tmp_path: Path) -> None:
    witness = FileHeadWitness(tmp_path / "head.json")
    for size in range(1, 4):
        await witness.keep(WitnessedHead(ORIGIN, size, ROOT_A))
    assert os.listdir(tmp_path) == ["head.json"]  # no temporary left


def admin(clock: FrozenClock, n: int) -> LogEvent:
    return LogEvent("admin", clock.now(), {"n": n})


async def _rewrite(db: Database, clock: FrozenClock, count: int) -> None:
    """What a database writer without keys can do (review 15c): replace every entry and the
    tree above them, and remove the stored checkpoints, then let the server sign again."""
    async with db.engine.begin() as conn:
        for row in (CheckpointRow, LogNodeRow, LogEntryRow, LogHeadRow):
            await conn.execute(delete(row.__table__))  # type: ignore[attr-defined]
    forged = EvidenceLog(db, origin=ORIGIN, clock=clock)
    await forged.append_many(admin(clock, 1000 + n) for n in range(count))


async def _stored_sizes(db: Database) -> list[int]:
    table = CheckpointRow.__table__  # type: ignore[attr-defined]
    async with db.engine.connect() as conn:
        return sorted((await conn.execute(select(table.c.size))).scalars())


async def test_a_rewritten_log_is_not_signed_again(db: Database, clock: FrozenClock,
                                                   tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    keys = MemoryKeyStore(clock=clock)
    witness_file = tmp_path / "signed-head.json"
    log = EvidenceLog(db, origin=ORIGIN, clock=clock)
    await log.append_many(admin(clock, n) for n in range(5))
    signed = await Checkpoints(log, keys, clock=clock,
                               witness=FileHeadWitness(witness_file)).issue()
    await _rewrite(db, clock, 5)
    # A restarted server (new objects, the same data directory) is asked to sign again.
    log = EvidenceLog(db, origin=ORIGIN, clock=clock)
    checkpoints = Checkpoints(log, keys, clock=clock, witness=FileHeadWitness(witness_file))
    assert (await log.head())[1] != signed.checkpoint.root
    with caplog.at_level(logging.CRITICAL), pytest.raises(LogForked, match="rewritten"):
        await checkpoints.issue()
    assert await _stored_sizes(db) == []  # nothing signed
    assert "refused at 5 entries" in caplog.text
    # Growing the forged log does not launder it: 7 entries do not extend the signed 5.
    await log.append_many(admin(clock, n) for n in range(2))
    with pytest.raises(LogForked, match="does not extend the head of 5"):
        await checkpoints.issue()
    assert await _stored_sizes(db) == []


async def test_an_honest_log_moves_the_witness_on(db: Database, clock: FrozenClock) -> None:
    keys, witness = MemoryKeyStore(clock=clock), MemoryHeadWitness()
    log = EvidenceLog(db, origin=ORIGIN, clock=clock)
    checkpoints = Checkpoints(log, keys, clock=clock, witness=witness)
    for batch in (3, 1, 4):
        await log.append_many(admin(clock, n) for n in range(batch))
        signed = await checkpoints.issue()
        first_key = (await keys.history()).keys[0].kid
        assert await witness.last() == WitnessedHead(ORIGIN, signed.size,
                                                     signed.checkpoint.root, first_key)
    assert await _stored_sizes(db) == [3, 4, 8]
    # A checkpoint another replica stored (same size) is handed out and vouched for.
    other = MemoryHeadWitness()
    assert await Checkpoints(log, keys, clock=clock, witness=other).issue() == signed
    assert await other.last() == await witness.last()


async def test_a_rolled_back_log_is_refused(db: Database, clock: FrozenClock) -> None:
    log = EvidenceLog(db, origin=ORIGIN, clock=clock)
    await log.append_many(admin(clock, n) for n in range(5))
    witness = MemoryHeadWitness()
    await witness.keep(WitnessedHead(ORIGIN, 9, ROOT_A))  # signed before a restore
    checkpoints = Checkpoints(log, MemoryKeyStore(clock=clock), clock=clock, witness=witness)
    with pytest.raises(LogForked, match="signed it at 9 entries: rolled back"):
        await checkpoints.issue()
    await witness.keep(WitnessedHead("elsewhere.test/evidence", 2, ROOT_A))
    with pytest.raises(LogForked, match=r"elsewhere\.test/evidence"):
        await checkpoints.issue()
    assert await _stored_sizes(db) == []


async def test_an_empty_database_starts_the_witness_afresh(
        db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    """A developer who deletes the database and keeps the data directory: a new log, not a
    fork (emptying the whole log hides nothing from anyone who kept an anchor)."""
    witness = MemoryHeadWitness()
    await witness.keep(WitnessedHead(ORIGIN, 9, ROOT_A))
    log = EvidenceLog(db, origin=ORIGIN, clock=clock)
    keys = MemoryKeyStore(clock=clock)
    with caplog.at_level(logging.WARNING):
        signed = await Checkpoints(log, keys, clock=clock, witness=witness).issue()
    assert signed.size == 0
    assert "a new database" in caplog.text
    assert await witness.last() == WitnessedHead(ORIGIN, 0, signed.checkpoint.root,
                                                 (await keys.history()).keys[0].kid)


async def test_a_new_database_seeded_before_its_first_checkpoint_is_another_log(
        db: Database, clock: FrozenClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """``rm .passerelle/passerelle.db`` then ``passerelle serve --demo``: the demo's records are
    appended before the first checkpoint, so the log is not empty; its first signing key is
    new, which is what makes it another log rather than a fork (a writer without keys cannot
    pass for one without a key no auditor trusts)."""
    witness_file = tmp_path / "signed-head.json"
    log = EvidenceLog(db, origin=ORIGIN, clock=clock)
    await log.append_many(admin(clock, n) for n in range(5))
    await Checkpoints(log, MemoryKeyStore(clock=clock), clock=clock,
                      witness=FileHeadWitness(witness_file)).issue()
    await _rewrite(db, clock, 7)  # the new database, seeded
    keys = MemoryKeyStore(clock=clock)  # its keys, made anew
    log = EvidenceLog(db, origin=ORIGIN, clock=clock)
    with caplog.at_level(logging.WARNING):
        signed = await Checkpoints(log, keys, clock=clock,
                                   witness=FileHeadWitness(witness_file)).issue()
    assert signed.size == 7
    assert "another first signing key" in caplog.text
    assert await FileHeadWitness(witness_file).last() == WitnessedHead(
        ORIGIN, 7, signed.checkpoint.root, (await keys.history()).keys[0].kid)


async def test_a_read_only_place_keeps_the_head_in_memory(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """A replica on a read-only root file system (the deployment's default) still refuses
    forks for its lifetime, and says once where to keep the head for longer."""
    witness = FileHeadWitness(Path("/proc/self/passerelle-witness/head.json"))  # unwritable
    with caplog.at_level(logging.WARNING):
        await witness.keep(WitnessedHead(ORIGIN, 3, ROOT_A))
        await witness.keep(WitnessedHead(ORIGIN, 4, ROOT_B))
    assert await witness.last() == WitnessedHead(ORIGIN, 4, ROOT_B)
    assert caplog.text.count("PASSERELLE_SIGNED_HEAD_FILE") == 1
    monkeypatch.setenv("PASSERELLE_SIGNED_HEAD_FILE", str(tmp_path / "named.json"))
    assert FileHeadWitness.from_environment(tmp_path / "default.json").path == (
        tmp_path / "named.json")
    monkeypatch.setenv("PASSERELLE_SIGNED_HEAD_FILE", " ")
    assert FileHeadWitness.from_environment(tmp_path / "default.json").path == (
        tmp_path / "default.json")

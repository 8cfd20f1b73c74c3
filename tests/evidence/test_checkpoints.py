"""Signed checkpoints: C2SP format, one per size, periodic issuance, a fixed origin."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from consent.clock import FrozenClock
from consent.evidence import notes
from consent.evidence.canonical import b64encode
from consent.evidence.checkpoints import Checkpoints, issue_periodically
from consent.evidence.events import LogEvent
from consent.evidence.keystore import MemoryKeyStore
from consent.evidence.log import EvidenceLog
from consent.storage.database import Database


def admin(clock: FrozenClock, n: int) -> LogEvent:
    return LogEvent("admin", clock.now(), {"n": n})


async def test_a_checkpoint_is_a_signed_c2sp_note_of_the_head(db: Database,
                                                             clock: FrozenClock) -> None:
    keys = MemoryKeyStore(clock=clock)
    log = EvidenceLog(db, origin="passerelle.test/evidence", clock=clock)
    checkpoints = Checkpoints(log, keys, clock=clock)
    await log.append_many(admin(clock, n) for n in range(5))
    signed = await checkpoints.issue()
    history = await keys.history()
    text, signers = notes.open_note(signed.note, [history.keys[0].note_key(
        "passerelle.test/evidence")])
    assert notes.Checkpoint.parse(text) == signed.checkpoint
    assert signers[0].name == "passerelle.test/evidence"
    size, root = await log.head()
    assert (signed.size, signed.checkpoint.root) == (size, root)
    assert signed.note.startswith(f"passerelle.test/evidence\n5\n{b64encode(root)}\n\n\u2014 ")
    # Same size: the stored checkpoint comes back, not a second signature.
    clock.advance(timedelta(minutes=5))
    assert await checkpoints.issue() == signed
    await log.append(admin(clock, 6))
    later = await checkpoints.issue()
    assert later.size == 6
    assert (await checkpoints.latest()) == later
    assert (await checkpoints.before(6)) == signed
    assert await checkpoints.first_covering([0, 4, 5], 100) == [signed, later]


async def test_the_first_origin_stays(db: Database, clock: FrozenClock) -> None:
    keys = MemoryKeyStore(clock=clock)
    first = EvidenceLog(db, origin="first.example/log", clock=clock)
    await first.append(admin(clock, 0))
    second = EvidenceLog(db, origin="second.example/log", clock=clock)
    signed = await Checkpoints(second, keys, clock=clock).issue()
    assert signed.checkpoint.origin == "first.example/log"
    assert signed.note.startswith("first.example/log\n1\n")


async def test_replicas_issue_one_checkpoint_per_size(database_url: str,
                                                      clock: FrozenClock) -> None:
    keys = MemoryKeyStore(clock=clock)
    dbs = [Database.from_url(database_url) for _ in range(2)]
    try:
        logs = [EvidenceLog(db, origin="o.example/log", clock=clock) for db in dbs]
        await logs[0].append(admin(clock, 0))
        a, b = await asyncio.gather(*(Checkpoints(log, keys, clock=clock).issue()
                                      for log in logs))
        assert a.size == b.size == 1
        assert a.note == b.note
    finally:
        for db in dbs:
            await db.dispose()


async def test_periodic_issuance_until_stopped(db: Database, clock: FrozenClock) -> None:
    log = EvidenceLog(db, origin="o.example/log", clock=clock)
    checkpoints = Checkpoints(log, MemoryKeyStore(clock=clock), clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(issue_periodically(checkpoints, 0.01, stop))
    await log.append(admin(clock, 0))
    for _ in range(200):
        latest = await checkpoints.latest()
        if latest is not None and latest.size == 1:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    latest = await checkpoints.latest()
    assert latest is not None
    assert latest.size == 1

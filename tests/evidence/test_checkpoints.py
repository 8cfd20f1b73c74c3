"""Signed checkpoints: C2SP format, one per size, periodic issuance, a fixed origin."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from consent.clock import FrozenClock
from consent.evidence import notes
from consent.evidence.blobs_db import DatabaseBlobStore
from consent.evidence.canonical import b64encode
from consent.evidence.checkpoints import Checkpoints, issue_periodically
from consent.evidence.events import AdminEvent, LogEvent, Refs
from consent.evidence.keystore import MemoryKeyStore
from consent.evidence.keystore_db import DatabaseKeyStore
from consent.evidence.log import EvidenceLog
from consent.evidence.secrets import Keyring
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence
from consent.evidence.verify import verify_bundle
from consent.evidence.verify_report import EXIT_VALID
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


async def test_a_checkpoint_of_the_empty_log_fixes_the_origin(
        sqlite_db: Database, clock: FrozenClock, keyring: Keyring) -> None:
    """Finding 10 of review 15c (seen on `passerelle serve --demo --port 18765`): a replica
    signs a checkpoint of the empty log at start under its origin, but only the first append
    fixed the origin; a CLI command told another public URL (`passerelle auditor-token
    create`) appended first under its own, and every honest bundle after that failed on the
    size-0 checkpoint ("not signed by any known key"). Signing fixes the origin now."""
    def instance(origin: str) -> Evidence:
        return Evidence(sqlite_db, DatabaseKeyStore(sqlite_db, keyring, clock=clock),
                        DatabaseBlobStore(sqlite_db, keyring, clock=clock), origin=origin,
                        clock=clock)

    await instance("127.0.0.1:18765/evidence").open_key()  # what create_app does at start
    cli = instance("127.0.0.1:8080/evidence")
    await cli.admin(AdminEvent(at=clock.now(), actor="cli:root", action="auditor-token.create",
                               refs=Refs("t1"), details={}))
    assert await cli.origin() == "127.0.0.1:18765/evidence"
    served = instance("127.0.0.1:18765/evidence")  # the replica, restarted
    out = io.BytesIO()
    await served.export(Selection(tenant="t1", start=clock.now() - timedelta(days=1)), out,
                        actor="auditor:cnil-1")
    report = verify_bundle(io.BytesIO(out.getvalue()), trusted=await served.keys.history())
    assert report.ok, report.render()
    assert report.exit_code == EXIT_VALID

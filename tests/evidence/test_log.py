"""The evidence log: appends, group commit, replicas, proofs (RFC 6962) from stored nodes."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from consent.clock import FrozenClock
from consent.evidence import merkle
from consent.evidence.canonical import sha256_hex
from consent.evidence.events import LogEvent, Refs, consent_chain
from consent.evidence.log import EvidenceLog
from consent.evidence.log_reader import ENTRY
from consent.storage.database import Database


def event(clock: FrozenClock, n: int, chain: str | None = None) -> LogEvent:
    return LogEvent("admin", clock.now() + timedelta(seconds=n), {"n": n},
                    Refs(tenant="t1", consent_id="c1" if chain else None), chain)


async def leaves(db: Database) -> list[bytes]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(ENTRY.c.leaf_hash).order_by(ENTRY.c.idx))).all()
    return [bytes(r.leaf_hash) for r in rows]


async def test_appends_are_leaves_of_an_rfc6962_tree(db: Database, clock: FrozenClock) -> None:
    log = EvidenceLog(db, origin="test/log", clock=clock)
    results = [await log.append(event(clock, n, consent_chain("c1"))) for n in range(11)]
    assert [r.index for r in results] == list(range(11))
    assert [r.seq for r in results] == list(range(11))
    size, root = await log.head()
    assert size == 11
    assert root == merkle.root_of(await leaves(db))
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(ENTRY).where(ENTRY.c.idx == 3))).one()
    header = json.loads(row.leaf)
    assert header == {"v": 1, "kind": "admin", "at": "2026-03-02T09:00:03.000000Z",
                      "refs": {"tenant": "t1", "consent_id": "c1"}, "chain": "consent:c1",
                      "seq": 3, "payload": sha256_hex(b'{"n":3}')}
    assert row.payload == '{"n":3}'
    assert bytes(row.leaf_hash) == merkle.leaf_hash(row.leaf.encode())


async def test_proofs_from_stored_nodes_verify(db: Database, clock: FrozenClock) -> None:
    log = EvidenceLog(db, origin="test/log", clock=clock, max_batch=7)
    await log.append_many(event(clock, n) for n in range(45))
    all_leaves = await leaves(db)
    for size in (1, 2, 13, 32, 45):
        root = await log.root_at(size)
        assert root == merkle.root_of(all_leaves[:size])
        for index in {0, size // 2, size - 1}:
            proof = await log.inclusion_proof(index, size)
            merkle.verify_inclusion(index, size, all_leaves[index], proof, root)
        for old in (1, 5, 16, size):
            if old <= size:
                merkle.verify_consistency(old, size, await log.root_at(old), root,
                                          await log.consistency_proof(old, size))
    assert log.transactions == 7  # ceil(45 / 7)


async def test_concurrent_appends_share_one_transaction(db: Database, clock: FrozenClock) -> None:
    log = EvidenceLog(db, origin="test/log", clock=clock, max_batch=100)
    results = await asyncio.gather(*(log.append(event(clock, n)) for n in range(50)))
    assert sorted(r.index for r in results) == list(range(50))
    assert log.transactions == 1
    small = EvidenceLog(db, origin="test/log", clock=clock, max_batch=10)
    await asyncio.gather(*(small.append(event(clock, n)) for n in range(50)))
    assert small.transactions == 5


async def test_one_transaction_per_event_without_concurrency(db: Database,
                                                             clock: FrozenClock) -> None:
    log = EvidenceLog(db, origin="test/log", clock=clock)
    for n in range(5):
        await log.append(event(clock, n))
    assert log.transactions == 5


async def test_replicas_share_one_consistent_log(database_url: str, clock: FrozenClock) -> None:
    dbs = [Database.from_url(database_url) for _ in range(3)]
    try:
        logs = [EvidenceLog(db, origin="test/log", clock=clock, max_batch=8) for db in dbs]
        chain = consent_chain("c1")
        await asyncio.gather(*(logs[n % 3].append(event(clock, n, chain)) for n in range(60)))
        for n in range(60, 66):  # alternate: every replica's cached frontier is stale
            await logs[n % 3].append(event(clock, n, chain))
        size, root = await logs[0].head()
        assert size == 66
        assert root == merkle.root_of(await leaves(dbs[0]))
        async with dbs[0].engine.connect() as conn:
            seqs = (await conn.execute(select(ENTRY.c.seq).order_by(ENTRY.c.idx))).scalars()
            assert list(seqs) == list(range(66))
    finally:
        for db in dbs:
            await db.dispose()


async def test_replicas_creating_the_log_at_once_both_append(database_url: str,
                                                             clock: FrozenClock) -> None:
    """The first appends ever, inside callers' transactions (the data path's batches), on two
    replicas at once: both find no head row; neither fails (one creates it, the other waits
    for it and appends after). It failed with a duplicate head row, found by the fault test."""
    dbs = [Database.from_url(database_url) for _ in range(2)]
    try:
        logs = [EvidenceLog(db, origin="test/log", clock=clock) for db in dbs]

        async def append(n: int) -> None:
            async with dbs[n].engine.begin() as conn:
                staged = await logs[n].append_in(conn, [event(clock, n)])
            staged.committed()

        await asyncio.gather(append(0), append(1))
        size, root = await logs[1].head()
        assert size == 2
        assert root == merkle.root_of(await leaves(dbs[0]))
    finally:
        for db in dbs:
            await db.dispose()


async def test_a_failed_batch_fails_every_waiter_and_writes_nothing(
        db: Database, clock: FrozenClock) -> None:
    log = EvidenceLog(db, origin="test/log", clock=clock)
    await log.append(event(clock, 0))
    bad = LogEvent("admin", clock.now(), {"x": 1.5})
    with pytest.raises(ValueError, match="floating-point"):
        await log.append(bad)
    size, _root = await log.head()
    assert size == 1
    naive = LogEvent("admin", clock.now().replace(tzinfo=None), {})
    with pytest.raises(ValueError, match="timezone"):
        await log.append(naive)


async def test_proofs_beyond_the_head_are_refused(db: Database, clock: FrozenClock) -> None:
    log = EvidenceLog(db, origin="test/log", clock=clock)
    await log.append(event(clock, 0))
    with pytest.raises(Exception, match="not 2"):
        await log.inclusion_proof(0, 2)
    with pytest.raises(merkle.ProofError):
        await log.inclusion_proof(1, 1)

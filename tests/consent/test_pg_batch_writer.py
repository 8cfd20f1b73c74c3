"""PostgreSQL: a batch's access events and evidence leaves in one statement, the head moving
only from where this process left it; otherwise nothing written and the transactional way."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]
import pytest
import sqlalchemy as sa

from consent.access_events import ACCESS_EVENT_TABLE, AccessEvent, GroupCommitSink, Outcome
from consent.clock import FrozenClock
from consent.event_writers import CoreWriter, connect_durable, writer_for
from consent.evidence.access_trail import AccessTrail
from consent.evidence.events import AccessEvent as Evidenced
from consent.evidence.log import EvidenceLog
from consent.evidence.log_reader import ENTRY, HEAD
from consent.evidence.merkle import root_of
from consent.pg_batch_writer import PostgresBatchWriter
from consent.services import ConsentService
from consent.storage import Database
from consent.storage.database import DatabaseUnavailable, is_outage
from tests.support.databases import PostgresFactory
from tests.support.world import build_world

pytestmark = pytest.mark.postgres


def event(i: int, consent: str = "c-1") -> AccessEvent:
    return AccessEvent(at=datetime(2026, 6, 1, 8, i % 60, tzinfo=UTC), request_id=f"r{i}",
                       api="native", route="/api/v1/points/{point_id}/datasets/{dataset}",
                       outcome=Outcome.SERVED, status=200, body_sha256=f"{i:064x}",
                       recipient_id="app-1", consent_id=consent, point="enedis:22516914714270",
                       dataset="daily_consumption", values=i, upstream=("dc 2026-05-01/05-08",))


def trail_writer(db: Database) -> tuple[PostgresBatchWriter, EvidenceLog]:
    log = EvidenceLog(db, origin="test/evidence")
    writer = writer_for(db, ACCESS_EVENT_TABLE, also=AccessTrail(log))
    assert isinstance(writer, PostgresBatchWriter)
    return writer, log


async def write(writer: PostgresBatchWriter, events: list[AccessEvent]) -> None:
    after = await writer.write(events)
    if after is not None:
        after()


async def stored(db: Database) -> tuple[int, list[bytes], dict[str, list[int]], int]:
    """Head size, leaf hashes in order, chain sequence numbers, access_event rows."""
    async with db.engine.connect() as conn:
        size, root = (await conn.execute(sa.select(HEAD.c.size, HEAD.c.root))).one()
        entries = (await conn.execute(sa.select(ENTRY.c.idx, ENTRY.c.leaf_hash, ENTRY.c.chain,
                                                ENTRY.c.seq).order_by(ENTRY.c.idx))).all()
        rows = (await conn.execute(sa.select(sa.func.count()).select_from(
            ACCESS_EVENT_TABLE))).scalar_one()
    assert [e.idx for e in entries] == list(range(size))  # no hole, no extra leaf
    leaves = [bytes(e.leaf_hash) for e in entries]
    assert root_of(leaves) == bytes(root)  # the head commits to exactly these leaves
    chains: dict[str, list[int]] = {}
    for e in entries:
        if e.chain is not None:
            chains.setdefault(e.chain, []).append(e.seq)
    return size, leaves, chains, rows


async def test_once_the_frontier_is_known_a_batch_is_one_statement(pg: Database) -> None:
    writer, log = trail_writer(pg)
    await write(writer, [event(0)])  # first batch: the frontier is read in a transaction
    assert (writer.in_transaction, writer.in_one) == (1, 0)
    await write(writer, [event(1), event(2, "c-2")])  # c-2 looked up first, then one statement
    await write(writer, [event(3), event(4, "c-2"), event(5)])
    await write(writer, [event(6, "c-2")])
    assert (writer.in_transaction, writer.in_one) == (1, 3)
    size, _leaves, chains, rows = await stored(pg)
    assert (size, rows) == (7, 7)
    assert chains == {"consent:c-1": [0, 1, 2, 3], "consent:c-2": [0, 1, 2]}
    # Each leaf the one-statement path wrote is provably in the tree the head names.
    for index in range(size):
        assert await log.inclusion_proof(index, size) is not None
    await writer.close()


async def test_a_consent_not_seen_lately_costs_a_lookup_not_a_transaction(
        pg: Database, clock: FrozenClock) -> None:
    world = await build_world(pg, clock)
    consent = (await ConsentService(pg, clock).give(world.as_alice,
                                                    world.draft(clock.now()))).row
    earlier, _log = trail_writer(pg)  # another process logged this consent's first reads
    await write(earlier, [event(0, consent.id)])
    await write(earlier, [event(1, consent.id)])
    await earlier.close()
    writer, _log = trail_writer(pg)  # this process knows nothing of them
    await write(writer, [event(2, "c-other")])  # its first batch reads the frontier
    await write(writer, [event(3, consent.id), event(4, "c-new")])
    assert (writer.in_transaction, writer.in_one) == (1, 1)
    _size, _leaves, chains, _rows = await stored(pg)
    assert chains[f"consent:{consent.id}"] == [0, 1, 2]  # continued, not restarted
    assert chains["consent:c-new"] == [0]
    async with pg.engine.connect() as conn:
        households = dict((await conn.execute(
            sa.select(ENTRY.c.idx, ENTRY.c.household_id))).all())
    assert households[3] == world.alice.id  # the grantor, looked up: the leaf names her
    assert households[4] is None  # no such consent: no household, as a transaction finds
    await writer.close()


async def test_rows_read_back_as_the_transactional_path_writes_them(pg: Database) -> None:
    writer, _log = trail_writer(pg)
    full = replace(event(7), window_start=datetime(2026, 5, 1, 22, tzinfo=UTC), reason="x" * 500,
                   window_end=datetime(2026, 5, 8, 22, tzinfo=UTC), resolution="P1D",
                   rule="R6 dataset", upstream_calls=2, cache_days=3, upstream=("a", "b"))
    await write(writer, [replace(full, id="reference")])  # the transactional way (first)
    await write(writer, [full])
    assert writer.in_one == 1
    async with pg.engine.connect() as conn:
        rows = {r.id: r._mapping for r in await conn.execute(sa.select(ACCESS_EVENT_TABLE))}
        payloads = [p for (p,) in await conn.execute(
            sa.select(ENTRY.c.payload).order_by(ENTRY.c.idx))]
    ours, reference = rows.pop(full.id), rows.pop("reference")
    assert {k: v for k, v in ours.items() if k != "id"} == \
        {k: v for k, v in reference.items() if k != "id"}
    assert ours["upstream"] == ["a", "b"]
    assert ours["window_start"] == full.window_start
    assert payloads[1] == payloads[0].replace('"reference"', f'"{full.id}"')
    await writer.close()


async def test_an_over_long_value_is_refused_not_cut(pg: Database) -> None:
    writer, _log = trail_writer(pg)
    await write(writer, [event(0)])
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        await write(writer, [event(1), replace(event(2), route="/x" * 101)])  # VARCHAR(200)
    assert (await stored(pg))[0] == 1  # nothing of the batch, as in a transaction
    await write(writer, [event(3)])
    assert writer.in_one == 1
    assert (await stored(pg))[0] == 2
    await writer.close()


async def test_a_moved_head_writes_nothing_and_the_batch_goes_the_transactional_way(
        pg: Database) -> None:
    writer, _log = trail_writer(pg)
    await write(writer, [event(0)])
    await write(writer, [event(1)])
    assert writer.in_one == 1
    # Another replica appends to the same consent's chain: this process's frontier is stale.
    other = AccessTrail(EvidenceLog(pg, origin="test/evidence"))
    replica = CoreWriter(pg, ACCESS_EVENT_TABLE, also=other)
    await replica.write([event(2)])
    await write(writer, [event(3), event(4)])
    assert (writer.in_one, writer.in_transaction) == (1, 2)  # tried, found it moved, fell back
    size, _leaves, chains, rows = await stored(pg)
    assert (size, rows) == (5, 5)  # written once each, nothing of the refused statement
    assert chains == {"consent:c-1": [0, 1, 2, 3, 4]}
    # It backs off (one batch the transactional way), then goes back to one statement.
    await write(writer, [event(5)])
    await write(writer, [event(6)])
    assert (writer.in_one, writer.in_transaction) == (2, 3)
    assert (await stored(pg))[0] == 7
    await replica.close()
    await writer.close()


async def terminate_writer(db: Database) -> None:
    """The server ends the batch writer's session (a restart, a fail-over, an operator)."""
    async with db.engine.connect() as conn:
        await conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database() "
            "AND query LIKE 'WITH head AS%'"))


async def test_a_connection_lost_while_idle_is_replaced(pg: Database) -> None:
    writer, _log = trail_writer(pg)
    await write(writer, [event(0)])
    await write(writer, [event(1)])
    await terminate_writer(pg)
    await asyncio.sleep(0.2)  # the driver sees the connection close
    await write(writer, [event(2)])
    assert writer.in_one == 2
    assert (await stored(pg))[0] == 3
    await writer.close()


async def test_a_connection_lost_mid_statement_fails_the_batch_retryably(
        pg: Database) -> None:
    writer, _log = trail_writer(pg)
    await write(writer, [event(0)])
    await write(writer, [event(1)])
    async with pg.engine.connect() as holder:  # hold the head: the statement waits for it
        await holder.execute(sa.select(HEAD.c.size).with_for_update())
        pending = asyncio.create_task(write(writer, [event(2)]))
        await asyncio.sleep(0.3)
        assert not pending.done()
        await terminate_writer(pg)
        # Whichever way the driver notices: the server's notice, or a dead socket.
        with pytest.raises((asyncpg.PostgresError, DatabaseUnavailable)) as failed:
            await pending
        await holder.rollback()
    assert isinstance(failed.value, DatabaseUnavailable) or is_outage(failed.value)  # a 503
    await write(writer, [event(3)])
    size, _leaves, chains, rows = await stored(pg)
    assert (size, rows) == (3, 3)  # nothing of the failed batch
    assert chains == {"consent:c-1": [0, 1, 2]}
    await writer.close()


async def test_concurrent_appends_through_the_sink_form_one_consistent_tree(
        pg: Database) -> None:
    log = EvidenceLog(pg, origin="test/evidence")
    sink = GroupCommitSink(pg, also=AccessTrail(log))
    sink.start()
    writer = sink.writer
    assert isinstance(writer, PostgresBatchWriter)
    for i in range(4):  # one by one: the frontier, then households and chain heads looked up
        await sink.append(event(i, f"c-{i % 3}"))
    assert (writer.in_transaction, writer.in_one) == (1, 3)
    # A consent record of this same process's log lands between the data path's batches.
    record = Evidenced(at=datetime(2026, 6, 1, tzinfo=UTC), tenant="default", outcome="served",
                       consent_id="c-1", recipient_id="app-1")
    await asyncio.gather(*(sink.append(event(i, f"c-{i % 3}")) for i in range(4, 40)),
                         log.append(record.to_log_event()))
    await asyncio.gather(*(sink.append(event(i, f"c-{i % 3}")) for i in range(40, 80)))
    await sink.close()
    size, _leaves, chains, rows = await stored(pg)
    assert (size, rows) == (81, 80)
    assert all(seqs == list(range(len(seqs))) for seqs in chains.values())
    assert writer.in_one + writer.in_transaction == sink.commits


async def test_no_database_to_connect_to_is_a_retryable_error(pg: Database) -> None:
    writer, _log = trail_writer(pg)
    await write(writer, [event(0)])
    await writer.close()
    writer.dsn = "postgresql://postgres@127.0.0.1:1/gone"  # nothing listens there
    with pytest.raises(DatabaseUnavailable):
        await write(writer, [event(1)])
    assert (await stored(pg))[0] == 1


async def test_the_writers_session_is_read_committed_whatever_the_default(
        postgres_factory: PostgresFactory) -> None:
    url = postgres_factory.create(fresh=True)  # its own database: the setting must not leak
    db = Database.from_url(url)
    try:
        async with db.engine.connect() as conn:
            name = (await conn.execute(sa.text("SELECT current_database()"))).scalar_one()
            await conn.execute(sa.text(
                f"ALTER DATABASE \"{name}\" SET default_transaction_isolation = 'serializable'"))
            await conn.commit()
        conn = await connect_durable(db.asyncpg_dsn())
        try:
            assert await conn.fetchval("SHOW transaction_isolation") == "read committed"
            assert await conn.fetchval("SHOW synchronous_commit") != "off"
        finally:
            await conn.close()
    finally:
        await db.dispose()
        postgres_factory.drop(url)

"""PostgreSQL: chain heads the one-statement batch writer caches, and what a stale one costs.

``PostgresBatchWriter._look_up`` reads a consent chain's last ``seq`` without the head's lock.
If, during that round trip, another replica appends to the chain and this process adopts a
newer frontier through an append of its own (a consent record, an admin event), the head read
is older than that frontier: learnt onto it, the next one-statement batch planned the same
``(chain, seq)`` again, the unique index refused it (503 ``evidence-unavailable`` to every
request of the batch), and the stale head stayed cached, failing batch after batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consent.evidence.events import LogEvent
from consent.storage import Database
from tests.consent.test_pg_batch_writer import event, stored, trail_writer, write

pytestmark = pytest.mark.postgres


async def test_a_chain_head_read_while_this_process_appends_is_not_kept(pg: Database) -> None:
    other_db = Database.from_url(pg.engine.url.render_as_string(hide_password=False))
    writer, log = trail_writer(pg)  # replica P: its batch writer and its one evidence log
    other, _ = trail_writer(other_db)  # replica Q
    try:
        await write(writer, [event(0, "c-d")])  # P knows the frontier now
        await write(other, [event(1, "c-x")])  # Q: consent c-x has an entry (seq 0)
        real_run = writer._run

        async def run(method: str, sql: str, *args: Any) -> Any:
            rows = await real_run(method, sql, *args)  # P reads c-x's head: seq 0
            if method == "fetch":  # while that answer is on its way (the hook pins it):
                await write(other, [event(2, "c-x")])  # Q serves c-x again (seq 1)
                await log.append(LogEvent("admin", datetime(2026, 6, 1, 9, tzinfo=UTC),
                                          {"what": "x"}, chain="consent:c-e"))  # P adopts
            return rows

        writer._run = run  # type: ignore[method-assign]
        await write(writer, [event(3, "c-x"), event(5, "c-y")])
        writer._run = real_run  # type: ignore[method-assign]
        await write(writer, [event(4, "c-x")])
        _size, _leaves, chains, _rows = await stored(pg)
    finally:
        await writer.close()
        await other.close()
        await other_db.dispose()

    assert chains["consent:c-x"] == [0, 1, 2, 3]


async def test_a_stale_chain_head_costs_a_transaction_not_the_batch(pg: Database) -> None:
    writer, log = trail_writer(pg)
    try:
        await write(writer, [event(0, "c-d")])
        await write(writer, [event(1, "c-x")])
        await write(writer, [event(2, "c-x")])
        assert writer.in_one == 2
        log._chains["consent:c-x"] = 0  # a head cached stale, however that came about
        await write(writer, [event(3, "c-x")])  # planned as seq 1: refused, then retried
        assert (writer.in_one, writer.in_transaction) == (2, 2)
        _size, _leaves, chains, rows = await stored(pg)
    finally:
        await writer.close()

    assert chains["consent:c-x"] == [0, 1, 2]
    assert rows == 4  # nothing of the refused statement

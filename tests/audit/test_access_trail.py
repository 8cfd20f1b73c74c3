"""Every data request, served or denied, is an ``access_event`` row and a leaf of the evidence
log, committed together before the answer leaves (issue 4 "evidence of every request", R16)."""

from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa

from consent.evidence.log_reader import ENTRY, HEAD
from proxy.keys import access_sink_key, evidence_key
from tests.audit.flow import read_daily, sha256
from tests.proxy.world import PRM, T0, World


async def _leaves(world: World) -> list[dict[str, object]]:
    async with world.db.engine.connect() as conn:
        rows = await conn.execute(sa.select(ENTRY.c.payload).where(ENTRY.c.kind == "access")
                                  .order_by(ENTRY.c.idx))
        return [json.loads(row.payload) for row in rows]


async def test_served_and_denied_requests_are_rows_and_leaves_alike(world_any: World) -> None:
    world = world_any
    token = await world.token("dash")
    status, body = await read_daily(world, token)
    assert status == 200
    denied_status, _, _ = await world.series(token, "consumption_load_curve",
                                             T0.date().replace(day=1), T0.date(),
                                             resolution="PT30M")
    assert denied_status == 403  # dash's consent is capped at P1D
    no_token, _, _ = await world.get(f"/api/v1/points/{PRM}/datasets/daily_consumption", None)
    assert no_token == 401

    rows, leaves = await world.events(), await _leaves(world)
    assert len(rows) == len(leaves) == 3
    for row, leaf in zip(rows, leaves, strict=True):
        assert leaf["outcome"] == row["outcome"]
        assert leaf["body_sha256"] == row["body_sha256"]
        assert leaf["status"] == row["status"]
        assert leaf.get("rule") == row["rule"]
    assert leaves[0]["body_sha256"] == sha256(body)
    assert leaves[1]["rule"]
    assert leaves[1]["consent_id"] == world.consents["dash"]
    assert "recipient_id" not in leaves[2]
    assert leaves[2]["outcome"] == "denied"


async def test_no_answer_leaves_without_its_leaf(world: World) -> None:
    token = await world.token("dash")
    assert (await read_daily(world, token))[0] == 200
    async with world.db.engine.begin() as conn:  # break the log: its root no longer matches
        await conn.execute(sa.update(HEAD).values(root=b"\x00" * 32))
    status, body = await read_daily(world, token)
    assert status == 503  # evidence unavailable: nothing of the data was sent
    assert json.loads(body)["title"] == "Evidence unavailable"
    assert b'"values"' not in body
    assert len(await world.events()) == 1  # and the row rolled back with the leaf
    assert len(await _leaves(world)) == 1


async def test_concurrent_requests_share_commits(world_any: World) -> None:
    world = world_any
    token = await world.token("dash")
    sink = world.client.app[access_sink_key]
    before = sink.commits  # type: ignore[attr-defined]
    results = await asyncio.gather(*(read_daily(world, token) for _ in range(40)))
    assert all(status == 200 for status, _ in results)
    assert len(await _leaves(world)) == 40
    commits = sink.commits - before  # type: ignore[attr-defined]
    assert commits < 40  # group commit: batches, not one transaction per request
    size, _root = await world.client.app[evidence_key].log.head()
    assert size == 40

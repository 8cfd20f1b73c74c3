"""Re-sealing under the current evidence key (issue 9): afterwards the old key can leave the
keyring, every document opens to the same bytes, signing keys still sign, the log still
verifies; a tampered row is reported and left alone; a second run, or a dry run, writes nothing;
two runs at once or a run cut short lose nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from consent.clock import FrozenClock
from consent.evidence.blobs_db import DOCUMENTS, DatabaseBlobStore
from consent.evidence.keystore_db import DatabaseKeyStore
from consent.evidence.log import EvidenceLog
from consent.evidence.log_reader import ENTRY
from consent.evidence.reseal import ACTION, Resealer, ResealReport, TableReport
from consent.evidence.sealed_rows import SEALED_TABLES, SIGNING_KEY_ROWS, open_row
from consent.evidence.secrets import Keyring, kek_id_of
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence
from consent.evidence.verify import Expectation, verify_bundle
from consent.storage.database import Database
from tests.evidence import documents, scenario

K1, K2, K3 = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))
OLD, NEW = kek_id_of(K1), kek_id_of(K2)
EXTRA = {"doc-b": ("t2", documents.png(), "image/png"),
         "doc-c": ("t1", documents.jpeg(), "image/jpeg")}


def evidence_with(db: Database, keys: list[bytes], clock: FrozenClock) -> Evidence:
    keyring = Keyring(keys)
    return Evidence(db, DatabaseKeyStore(db, keyring, clock=clock),
                    DatabaseBlobStore(db, keyring, clock=clock), origin=scenario.ORIGIN,
                    clock=clock)


async def history_under_k1(db: Database, clock: FrozenClock) -> dict[str, str]:
    """The scenario's history, three documents and two signing keys, all sealed with K1;
    returns each document's tenant."""
    evidence = evidence_with(db, [K1], clock)
    await scenario.build(evidence, clock)
    for document_id, (tenant, data, media_type) in EXTRA.items():
        await evidence.blobs.put(document_id, data, media_type, tenant=tenant)
    clock.advance(timedelta(hours=1))
    await evidence.rotate_key(actor="ops:test")
    await evidence.checkpoint()
    await evidence.aclose()
    return {"doc-mandate": "t1", **{d: t for d, (t, _, _) in EXTRA.items()}}


def resealer(db: Database, keys: list[bytes], clock: FrozenClock, **options: Any) -> Resealer:
    return Resealer(db, Keyring(keys), EvidenceLog(db, origin=scenario.ORIGIN, clock=clock),
                    actor="ops:test", clock=clock, **options)


async def rows(db: Database) -> list[tuple[Any, ...]]:
    """Every sealed row as stored (key id and sealed bytes included)."""
    async with db.engine.connect() as conn:
        return [tuple(row) for kind in SEALED_TABLES
                for row in await conn.execute(select(*kind.columns())
                                              .order_by(kind.table.c[kind.key]))]


async def digests(db: Database, keys: list[bytes], tenants: dict[str, str]) -> dict[str, str]:
    store = DatabaseBlobStore(db, Keyring(keys))
    return {d: hashlib.sha256(await store.get(d, tenant=t)).hexdigest()
            for d, t in tenants.items()}


async def reseal_events(db: Database) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        payloads = (await conn.execute(select(ENTRY.c.payload).where(ENTRY.c.kind == "admin")
                                       .order_by(ENTRY.c.idx))).scalars().all()
    return [p for p in map(json.loads, payloads) if p["action"] == ACTION]


def resealed(report: ResealReport, table: str) -> dict[str, int]:
    return dict(report.tables[table].resealed)


async def test_after_a_reseal_the_old_key_can_go(db: Database, clock: FrozenClock) -> None:
    tenants = await history_under_k1(db, clock)
    before = await digests(db, [K1], tenants)

    report = await resealer(db, [K1, K2], clock, batch_size=2).run()

    assert report.done, report.render()
    assert resealed(report, "documents") == {OLD: 3}
    assert resealed(report, "signing-keys") == {OLD: 2}
    assert all(row[1] == NEW for row in await rows(db))
    assert await digests(db, [K2], tenants) == before  # same bytes, without the old key
    alone = Keyring([K2])
    async with db.engine.connect() as conn:  # every signing key opens to its public key
        for row in await conn.execute(select(*SIGNING_KEY_ROWS.columns())):
            open_row(alone, SIGNING_KEY_ROWS, row)
    evidence = evidence_with(db, [K2], clock)
    clock.advance(timedelta(minutes=5))
    await evidence.checkpoint()  # signed by the re-sealed current signing key
    out = io.BytesIO()
    await evidence.export(Selection(consent_id="c-1"), out, actor="auditor:test")
    await evidence.aclose()
    verified = verify_bundle(io.BytesIO(out.getvalue()), expect=Expectation(consent_id="c-1"))
    assert verified.ok, verified.render()

    events = await reseal_events(db)  # documents in two batches of 2 and 1, keys in one
    assert [(e["target"], e["details"]["resealed"]) for e in events] == [
        ("evidence_document", {OLD: 2}), ("evidence_document", {OLD: 1}),
        ("evidence_signing_key", {OLD: 2})]
    assert all(e["actor"] == "ops:test" and e["details"]["to_key"] == NEW for e in events)
    assert "nothing remains under an old key" in report.render()


async def test_a_second_run_and_a_dry_run_write_nothing(db: Database,
                                                        clock: FrozenClock) -> None:
    await history_under_k1(db, clock)
    run = resealer(db, [K1, K2], clock)
    untouched = await rows(db)
    assert await run.census() == {"documents": {OLD: 3}, "signing-keys": {OLD: 2}}
    assert await rows(db) == untouched
    assert not await reseal_events(db)

    await run.run()
    after, events = await rows(db), await reseal_events(db)
    again = await run.run()
    assert (resealed(again, "documents"), again.tables["documents"].current) == ({}, 3)
    assert again.tables["signing-keys"].current == 2
    assert again.done
    assert (await rows(db), await reseal_events(db)) == (after, events)


async def test_a_tampered_row_is_reported_and_left_alone(db: Database,
                                                         clock: FrozenClock) -> None:
    tenants = await history_under_k1(db, clock)
    mandate = await digests(db, [K1], {"doc-mandate": tenants["doc-mandate"]})
    async with db.engine.begin() as conn:
        sealed = (await conn.execute(select(DOCUMENTS.c.sealed).where(
            DOCUMENTS.c.document_id == "doc-b"))).scalar_one()
        await conn.execute(update(DOCUMENTS).where(DOCUMENTS.c.document_id == "doc-b")
                           .values(sealed=sealed[:-1] + bytes([sealed[-1] ^ 1])))
        await conn.execute(update(DOCUMENTS).where(DOCUMENTS.c.document_id == "doc-c")
                           .values(sha256="0" * 64))  # the row no longer says what it holds
    tampered = {row[0]: row for row in await rows(db) if row[0] in ("doc-b", "doc-c")}

    report = await resealer(db, [K1, K2], clock).run()

    failed = {(f.row_id, f.kek_id): f.reason for f in report.tables["documents"].failed}
    assert failed == {("doc-b", OLD): "does not authenticate: altered, or moved from another row",
                      ("doc-c", OLD): "opens, but not to the size and SHA-256 its row records"}
    assert resealed(report, "documents") == {OLD: 1}
    assert resealed(report, "signing-keys") == {OLD: 2}
    assert not report.done
    assert report.left == {"documents": {OLD: 2}, "signing-keys": {}}
    assert {row[0]: row for row in await rows(db) if row[0] in tampered} == tampered
    assert await digests(db, [K2], {"doc-mandate": tenants["doc-mandate"]}) == mandate
    assert "failed  documents doc-b (kek-" in report.render()
    assert [e["details"]["failed"] for e in await reseal_events(db)] == [{OLD: 2}, {}]


async def test_from_key_reseals_only_that_key(db: Database, clock: FrozenClock) -> None:
    await history_under_k1(db, clock)
    middle = DatabaseBlobStore(db, Keyring([K1, K2]), clock=clock)
    await middle.put("doc-d", documents.pdf("D"), "application/pdf", tenant="t1")

    report = await resealer(db, [K1, K2, K3], clock, from_keys=[NEW]).run()

    assert resealed(report, "documents") == {NEW: 1}
    assert report.done  # nothing is left under the key it was asked to empty
    assert report.tables["documents"].remaining == {OLD: 3}
    census = await resealer(db, [K1, K2, K3], clock).census()
    assert census == {"documents": {OLD: 3, kek_id_of(K3): 1}, "signing-keys": {OLD: 2}}


async def test_two_runs_at_once_reseal_each_row_once(db: Database, clock: FrozenClock) -> None:
    tenants = await history_under_k1(db, clock)
    before = await digests(db, [K1], tenants)
    first, second = await asyncio.gather(resealer(db, [K1, K2], clock, batch_size=1).run(),
                                         resealer(db, [K1, K2], clock, batch_size=1).run())
    for table, total in (("documents", 3), ("signing-keys", 2)):
        assert (sum(first.tables[table].resealed.values())
                + sum(second.tables[table].resealed.values())) == total
    assert first.done
    assert second.done
    assert await digests(db, [K2], tenants) == before


class _Interrupted(Exception):
    pass


class _CutShort(Resealer):
    """A run that dies after its first batch."""

    async def _batch(self, kind: Any, ids: list[str]) -> TableReport:
        if getattr(self, "cut", False):
            raise _Interrupted
        self.cut = True
        return await super()._batch(kind, ids)


async def test_a_run_cut_short_leaves_every_row_openable(db: Database,
                                                         clock: FrozenClock) -> None:
    tenants = await history_under_k1(db, clock)
    before = await digests(db, [K1], tenants)
    log = EvidenceLog(db, origin=scenario.ORIGIN, clock=clock)
    with pytest.raises(_Interrupted):
        await _CutShort(db, Keyring([K1, K2]), log, actor="ops:test", batch_size=2).run()
    assert Counter(row[1] for row in await rows(db)) == {OLD: 3, NEW: 2}
    assert await digests(db, [K1, K2], tenants) == before
    report = await resealer(db, [K1, K2], clock).run()
    assert report.done
    assert resealed(report, "documents") == {OLD: 1}
    assert await digests(db, [K2], tenants) == before

"""Shared nothing but the database (issue 9): a proof document uploaded through one replica is
served by another, each with its own data directory, on one PostgreSQL; and a document is
written in the transaction of its metadata, so a refused attachment keeps neither."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from consent.evidence.blobs_db import DOCUMENTS
from tests.rules.app_world import POINTS, RulesWorld, two_replicas
from tests.support.databases import PostgresFactory

pytestmark = pytest.mark.postgres

PDF = b"%PDF-1.4\n1 0 obj << /Producer (CPAS de Namur) >> endobj\ntrailer << >>\n%%EOF\n"


async def test_a_proof_uploaded_on_one_replica_is_served_by_another(
        postgres_factory: PostgresFactory, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with two_replicas(postgres_factory, tmp_path, monkeypatch) as (a, b):
        status, body = await a.staff("marc", "POST", "/staff/mandates", json_body={
            "household_id": a.parties["h0"], "scope": "both", "points": [str(POINTS[0])],
            "datasets": ["daily_consumption"]})
        assert status == 201, body
        status, proof = await a.staff("marc", "POST", f"/staff/mandates/{body['id']}/proofs",
                                      data=PDF, content_type="application/pdf")
        assert status == 201, proof

        status, served = await b.staff("rita", "GET", f"/staff/proofs/{proof['id']}")

        assert (status, served) == (200, PDF)
        assert proof["sha256"] == hashlib.sha256(PDF).hexdigest()
        for data_dir in (tmp_path / "replica-a", tmp_path / "replica-b"):
            assert not (data_dir / "documents").exists()
            assert all(b"CPAS de Namur" not in f.read_bytes()
                       for f in data_dir.rglob("*") if f.is_file())
        status, other = await b.staff("rolf", "GET", f"/staff/proofs/{proof['id']}")
        assert status == 404, other  # the other tenant's reviewer: never the document


async def stored_documents(world: RulesWorld) -> int:
    async with world.db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(DOCUMENTS))).scalar()
                   or 0)


async def test_a_refused_attachment_keeps_no_document(app_world: RulesWorld) -> None:
    w = app_world
    before = await stored_documents(w)
    # The seeded standing mandate is active: proofs are attached while it is being prepared.
    status, body = await w.staff("alex", "POST", f"/staff/mandates/{w.mandate_id}/proofs",
                                 data=PDF, content_type="application/pdf")
    assert (status, body["type"].rsplit("/", 1)[1]) == (409, "illegal-transition"), body
    status, body = await w.staff("alex", "POST", f"/staff/mandates/{w.mandate_id}/proofs",
                                 data=b"MZ\x90\x00", content_type="application/pdf")
    assert status == 415, body
    assert await stored_documents(w) == before


async def test_an_altered_document_is_refused_never_served(app_world: RulesWorld) -> None:
    w = app_world
    status, body = await w.staff("marc", "POST", "/staff/mandates", json_body={
        "household_id": w.parties["h0"], "scope": "both", "points": [str(POINTS[0])],
        "datasets": ["daily_consumption"]})
    status, proof = await w.staff("marc", "POST", f"/staff/mandates/{body['id']}/proofs",
                                  data=PDF, content_type="application/pdf")
    assert status == 201, proof
    async with w.db.engine.begin() as conn:
        sealed = (await conn.execute(select(DOCUMENTS.c.sealed))).scalar_one()
        await conn.execute(update(DOCUMENTS).values(sealed=sealed[:-1] + bytes([sealed[-1] ^ 1])))

    status, problem = await w.staff("rita", "GET", f"/staff/proofs/{proof['id']}")

    assert (status, problem["type"].rsplit("/", 1)[1]) == (500, "document-tampered"), problem
    assert "CPAS de Namur" not in str(problem)

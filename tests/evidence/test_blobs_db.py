"""The database document store: sealed at rest, bound to its row, written in the caller's
transaction; an altered row is refused, never served (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from consent.errors import NotFound
from consent.evidence.blobs_db import DOCUMENTS, DatabaseBlobStore
from consent.evidence.errors import DocumentTampered, EvidenceUnavailable
from consent.evidence.secrets import Keyring, kek_id_of
from tests.evidence import documents
from tests.evidence.test_blobs import database_store

OTHER_KEY = b"\x02" * 32


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest,
                keyring: Keyring) -> AsyncIterator[DatabaseBlobStore]:
    async for made in database_store(request, keyring):
        yield made


async def row(store: DatabaseBlobStore, document_id: str) -> Any:
    async with store.db.engine.connect() as conn:
        return (await conn.execute(select(DOCUMENTS).where(
            DOCUMENTS.c.document_id == document_id))).one()


async def edit(store: DatabaseBlobStore, document_id: str, **values: Any) -> None:
    async with store.db.engine.begin() as conn:
        await conn.execute(update(DOCUMENTS).where(DOCUMENTS.c.document_id == document_id)
                           .values(**values))


async def test_documents_are_sealed_at_rest(store: DatabaseBlobStore, keyring: Keyring) -> None:
    data = documents.pdf("Jeanne Dupont autorise le CPAS")
    stored = await store.put("mandate-7", data, "application/pdf", tenant="default")
    sealed = await row(store, "mandate-7")
    assert b"Jeanne" not in sealed.sealed
    assert b"%PDF" not in sealed.sealed
    assert (sealed.tenant, sealed.kek_id, sealed.size_bytes, sealed.sha256, sealed.media_type) \
        == ("default", keyring.current, len(data), stored.sha256, "application/pdf")
    with pytest.raises(EvidenceUnavailable, match="lacks"):  # a dump without the keys
        await DatabaseBlobStore(store.db, Keyring([OTHER_KEY])).get("mandate-7",
                                                                     tenant="default")
    rotated = DatabaseBlobStore(store.db, Keyring([bytes(range(32)), OTHER_KEY]))
    assert await rotated.get("mandate-7", tenant="default") == data  # old keys still open


@pytest.mark.parametrize("where", [0, 12, -1])
async def test_a_flipped_byte_is_refused(store: DatabaseBlobStore, where: int) -> None:
    await store.put("mandate-7", documents.pdf(), "application/pdf", tenant="default")
    tampered = bytearray((await row(store, "mandate-7")).sealed)
    tampered[where] ^= 1  # the nonce, the ciphertext, the tag
    await edit(store, "mandate-7", sealed=bytes(tampered))
    with pytest.raises(DocumentTampered, match="does not authenticate") as caught:
        await store.get("mandate-7", tenant="default")
    assert (caught.value.status, caught.value.code) == (500, "document-tampered")


async def test_sealed_bytes_do_not_open_on_another_row_or_tenant(
        store: DatabaseBlobStore, keyring: Keyring) -> None:
    await store.put("mandate-7", documents.pdf("A"), "application/pdf", tenant="default")
    await store.put("mandate-8", documents.pdf("B"), "application/pdf", tenant="default")
    await edit(store, "mandate-8", sealed=(await row(store, "mandate-7")).sealed)
    with pytest.raises(DocumentTampered):
        await store.get("mandate-8", tenant="default")
    await edit(store, "mandate-7", tenant="other")  # moved to another tenant
    with pytest.raises(DocumentTampered):
        await store.get("mandate-7", tenant="other")
    with pytest.raises(NotFound):
        await store.get("mandate-7", tenant="default")
    ring = Keyring([bytes(range(32)), OTHER_KEY])
    await store.put("mandate-9", documents.pdf("C"), "application/pdf", tenant="default")
    await edit(store, "mandate-9", kek_id=kek_id_of(OTHER_KEY))  # claims another key
    with pytest.raises(DocumentTampered):
        await DatabaseBlobStore(store.db, ring).get("mandate-9", tenant="default")


async def test_put_in_belongs_to_the_callers_transaction(store: DatabaseBlobStore) -> None:
    class Refused(Exception):
        pass

    async def write_then_refuse() -> None:
        async with store.db.engine.begin() as conn:
            await store.put_in(conn, "doc-rolled-back", documents.pdf(), "application/pdf",
                               tenant="default")
            raise Refused  # e.g. the metadata row is refused

    with pytest.raises(Refused):
        await write_then_refuse()
    with pytest.raises(NotFound):
        await store.get("doc-rolled-back", tenant="default")
    async with store.db.engine.begin() as conn:
        await store.put_in(conn, "doc-kept", documents.pdf(), "application/pdf",
                           tenant="default")
    assert await store.get("doc-kept", tenant="default") == documents.pdf()

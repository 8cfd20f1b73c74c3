"""Proof document storage: sniffing, limits, tenant walls; every BlobStore passes the same
contract (in memory, and in the database on SQLite and PostgreSQL, migrated by the shared
factories of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consent.errors import Conflict, DomainError, NotFound
from consent.evidence.blobs import BlobStore, MemoryBlobStore, check_upload
from consent.evidence.blobs_db import DatabaseBlobStore
from consent.evidence.errors import DocumentTooLarge, RejectedDocument
from consent.evidence.secrets import Keyring
from consent.storage.database import Database
from tests.evidence import documents
from tests.support.databases import DatabaseFactory

LIMIT = 64 * 1024
STORES = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


async def database_store(request: pytest.FixtureRequest,
                         keyring: Keyring) -> AsyncIterator[DatabaseBlobStore]:
    """A :class:`DatabaseBlobStore` on a fresh migrated database of the request's backend."""
    name = "postgres" if request.param == "postgresql" else request.param
    factory: DatabaseFactory = request.getfixturevalue(f"{name}_factory")
    url = factory.create()
    db = Database.from_url(url)
    try:
        yield DatabaseBlobStore(db, keyring, max_size=LIMIT)
    finally:
        await db.dispose()
        factory.drop(url)


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, keyring: Keyring) -> AsyncIterator[BlobStore]:
    if request.param == "memory":
        yield MemoryBlobStore(max_size=LIMIT)
        return
    async for made in database_store(request, keyring):
        yield made


@pytest.mark.parametrize(("data", "media_type"), [
    (documents.pdf(), "application/pdf"), (documents.png(), "image/png"),
    (documents.jpeg(), "image/jpeg")])
async def test_documents_round_trip(store: BlobStore, data: bytes, media_type: str) -> None:
    assert isinstance(store, BlobStore)
    stored = await store.put("doc-1", data, media_type + "; charset=binary", tenant="t1")
    assert stored.media_type == media_type
    assert stored.size == len(data)
    assert await store.get("doc-1", tenant="t1") == data
    with pytest.raises(Conflict):
        await store.put("doc-1", data, media_type, tenant="t1")
    await store.delete("doc-1", tenant="t1")
    with pytest.raises(NotFound):
        await store.get("doc-1", tenant="t1")
    await store.delete("doc-1", tenant="t1")  # erasing twice is not an error


@pytest.mark.parametrize(("data", "declared", "error", "why"), [
    (b"<html><script>alert(1)</script></html>", "application/pdf", RejectedDocument,
     "not a complete"),
    (b"MZ\x90\x00 windows executable", "image/png", RejectedDocument, "not a complete"),
    (documents.png(), "application/pdf", RejectedDocument, "declared application/pdf"),
    (documents.pdf()[:-8], "application/pdf", RejectedDocument, "not a complete"),
    (documents.pdf(), "text/plain", RejectedDocument, "must be PDF, PNG or JPEG"),
    (b"", "image/png", RejectedDocument, "empty"),
    (b"%PDF-" + b"\0" * LIMIT + b"%%EOF", "application/pdf", DocumentTooLarge, "limit"),
])
async def test_refused_uploads_keep_nothing(store: BlobStore, data: bytes, declared: str,
                                            error: type[DomainError], why: str) -> None:
    with pytest.raises(error, match=why) as caught:
        await store.put("doc-2", data, declared, tenant="t1")
    assert isinstance(caught.value, DomainError)
    with pytest.raises(NotFound):
        await store.get("doc-2", tenant="t1")
    await store.put("doc-2", documents.pdf(), "application/pdf", tenant="t1")  # id still free


async def test_bad_ids_and_tenants_are_refused(store: BlobStore) -> None:
    for bad in ("../etc/passwd", "", "a/b", "x" * 65):
        with pytest.raises(RejectedDocument, match="document id"):
            await store.put(bad, documents.pdf(), "application/pdf", tenant="t1")
    for tenant in ("", "t\0x", "t" * 65):
        with pytest.raises(RejectedDocument, match="tenant"):
            await store.put("doc-3", documents.pdf(), "application/pdf", tenant=tenant)


async def test_a_tenant_never_reads_or_erases_another_tenants_document(
        store: BlobStore) -> None:
    data = documents.pdf("Mandat de Bea")
    await store.put("doc-bea", data, "application/pdf", tenant="other")
    with pytest.raises(NotFound):
        await store.get("doc-bea", tenant="default")
    await store.delete("doc-bea", tenant="default")
    assert await store.get("doc-bea", tenant="other") == data
    with pytest.raises(Conflict):  # ids are unique across tenants
        await store.put("doc-bea", documents.pdf(), "application/pdf", tenant="default")


def test_default_limit_is_four_megabytes() -> None:
    big = b"%PDF-" + b"\0" * (4 * 1024 * 1024) + b"%%EOF"
    with pytest.raises(DocumentTooLarge) as caught:
        check_upload(big, "application/pdf")
    assert caught.value.status == 413
    assert check_upload(big[: 4 * 1024 * 1024 - 5] + b"%%EOF", "application/pdf")

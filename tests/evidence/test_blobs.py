"""Proof document storage: sniffing, limits, encryption at rest; every BlobStore passes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from consent.errors import Conflict, DomainError, NotFound
from consent.evidence.blobs import (
    BlobStore,
    FileBlobStore,
    MemoryBlobStore,
    check_upload,
)
from consent.evidence.errors import DocumentTooLarge, EvidenceUnavailable, RejectedDocument
from consent.evidence.secrets import Keyring
from tests.evidence import documents


@pytest.fixture(params=["memory", "file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path,
                keyring: Keyring) -> AsyncIterator[BlobStore]:
    if request.param == "memory":
        yield MemoryBlobStore(max_size=64 * 1024)
    else:
        yield FileBlobStore(tmp_path / "blobs", keyring, max_size=64 * 1024)


@pytest.mark.parametrize(("data", "media_type"), [
    (documents.pdf(), "application/pdf"), (documents.png(), "image/png"),
    (documents.jpeg(), "image/jpeg")])
async def test_documents_round_trip(store: BlobStore, data: bytes, media_type: str) -> None:
    assert isinstance(store, BlobStore)
    stored = await store.put("doc-1", data, media_type + "; charset=binary")
    assert stored.media_type == media_type
    assert stored.size == len(data)
    assert await store.get("doc-1") == data
    with pytest.raises(Conflict):
        await store.put("doc-1", data, media_type)
    await store.delete("doc-1")
    with pytest.raises(NotFound):
        await store.get("doc-1")


@pytest.mark.parametrize(("data", "declared", "error", "why"), [
    (b"<html><script>alert(1)</script></html>", "application/pdf", RejectedDocument,
     "not a complete"),
    (b"MZ\x90\x00 windows executable", "image/png", RejectedDocument, "not a complete"),
    (documents.png(), "application/pdf", RejectedDocument, "declared application/pdf"),
    (documents.pdf()[:-8], "application/pdf", RejectedDocument, "not a complete"),
    (documents.pdf(), "text/plain", RejectedDocument, "must be PDF, PNG or JPEG"),
    (b"", "image/png", RejectedDocument, "empty"),
    (b"%PDF-" + b"\0" * (64 * 1024) + b"%%EOF", "application/pdf", DocumentTooLarge, "limit"),
])
async def test_refused_uploads_keep_nothing(store: BlobStore, tmp_path: Path, data: bytes,
                                            declared: str, error: type[DomainError],
                                            why: str) -> None:
    with pytest.raises(error, match=why) as caught:
        await store.put("doc-2", data, declared)
    assert isinstance(caught.value, DomainError)
    with pytest.raises(NotFound):
        await store.get("doc-2")
    blob_dir = tmp_path / "blobs"
    assert not blob_dir.exists() or not any(p.is_file() for p in blob_dir.rglob("*"))


async def test_bad_ids_are_refused(store: BlobStore) -> None:
    for bad in ("../etc/passwd", "", "a/b", "x" * 65):
        with pytest.raises(RejectedDocument, match="document id"):
            await store.put(bad, documents.pdf(), "application/pdf")


def test_default_limit_is_four_megabytes() -> None:
    big = b"%PDF-" + b"\0" * (4 * 1024 * 1024) + b"%%EOF"
    with pytest.raises(DocumentTooLarge) as caught:
        check_upload(big, "application/pdf")
    assert caught.value.status == 413
    assert check_upload(big[: 4 * 1024 * 1024 - 5] + b"%%EOF", "application/pdf")


async def test_files_are_sealed_and_bound_to_their_id(tmp_path: Path, keyring: Keyring) -> None:
    store = FileBlobStore(tmp_path, keyring)
    data = documents.pdf("Jeanne Dupont autorise le CPAS")
    await store.put("mandate-7", data, "application/pdf")
    path = tmp_path / "ma" / "mandate-7"
    raw = path.read_bytes()
    assert b"Jeanne" not in raw
    assert b"%PDF" not in raw
    (tmp_path / "ot").mkdir()
    (tmp_path / "ot" / "other").write_bytes(raw)
    with pytest.raises(EvidenceUnavailable, match="does not authenticate"):
        await store.get("other")
    with pytest.raises(EvidenceUnavailable):
        await FileBlobStore(tmp_path, Keyring([b"\x02" * 32])).get("mandate-7")
    tampered = bytearray(raw)
    tampered[-1] ^= 1
    path.write_bytes(bytes(tampered))
    with pytest.raises(EvidenceUnavailable, match="does not authenticate"):
        await store.get("mandate-7")

"""``passerelle documents import-files``: document files of earlier releases move into the
database once; running it again writes nothing; an altered file is refused and reported."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consent.clock import FrozenClock
from consent.evidence.blobs import PURPOSE
from consent.evidence.blobs_db import DOCUMENTS, DatabaseBlobStore
from consent.evidence.documents_import import LEGACY_MAGIC
from consent.evidence.secrets import ENV_VAR, Keyring
from consent.evidence.tables import LogEntryRow
from consent.models import PartyKind, ProofDocument, ProofKind
from consent.services import registry as reg
from consent.services.tenants import create_tenant
from consent.storage.database import Database
from proxy.cli import main
from tests.conftest import T0
from tests.evidence import documents
from tests.support.databases import DatabaseFactory

KEY = bytes(range(32))


def write_legacy_file(root: Path, document_id: str, data: bytes, keyring: Keyring) -> Path:
    """A document file as earlier releases wrote it (sealed, bound to the id alone)."""
    sealed = keyring.seal(PURPOSE, data, document_id.encode())
    kek = sealed.kek_id.encode()
    path = root / document_id[:2] / document_id
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(LEGACY_MAGIC + bytes([len(kek)]) + kek + sealed.blob)
    return path


@dataclass
class Instance:
    url: str
    data_dir: Path
    files: Path

    def run(self) -> int:
        return main(["documents", "import-files", "--from", str(self.files),
                     "--database-url", self.url, "--data-dir", str(self.data_dir),
                     "--actor", "ops:test"])

    async def counts(self) -> tuple[int, int]:
        """Rows of ``evidence_document`` and of the evidence log."""
        db = Database.from_url(self.url)
        try:
            async with db.engine.connect() as conn:
                docs = (await conn.execute(select(func.count()).select_from(DOCUMENTS))).scalar()
                log = (await conn.execute(select(func.count()).select_from(
                    LogEntryRow.__table__))).scalar()  # type: ignore[attr-defined]
            return int(docs or 0), int(log or 0)
        finally:
            await db.dispose()


async def _seed(url: str, files: Path) -> None:
    """Three proofs with metadata (two tenants, one file later altered), one whose file says
    something else than its metadata, one file without metadata, one unfinished upload."""
    keyring = Keyring([KEY])
    db = Database.from_url(url)
    try:
        async with db.session() as s:
            await create_tenant(s, "other", "Other operator", T0)
            uploaders = {t: (await reg.add_party(s, tenant_id=t, kind=PartyKind.HOUSEHOLD,
                                                 name=f"Uploader {t}", now=T0)).id
                         for t in ("default", "other")}
            for document_id, tenant, text in [
                    ("ok-default", "default", "A"), ("ok-other", "other", "B"),
                    ("altered", "default", "C"), ("mismatch", "default", "D")]:
                data = documents.pdf(text)
                s.add(ProofDocument(
                    tenant_id=tenant, kind=ProofKind.SIGNED_MANDATE,
                    media_type="application/pdf", size_bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(), storage_key=document_id,
                    uploaded_by=uploaders[tenant], created_at=T0))
                written = documents.pdf("not D") if document_id == "mismatch" else data
                path = write_legacy_file(files, document_id, written, keyring)
                if document_id == "altered":
                    raw = bytearray(path.read_bytes())
                    raw[-3] ^= 1
                    path.write_bytes(bytes(raw))
        write_legacy_file(files, "orphan", documents.pdf("E"), keyring)
        (files / "ok" / ".upload-x1").write_bytes(b"partial")
    finally:
        await db.dispose()


@pytest.fixture
def instance(database_factory: DatabaseFactory, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    url = database_factory.create()
    made = Instance(url, tmp_path / "instance", tmp_path / "old-volume" / "documents")
    asyncio.run(_seed(url, made.files))
    monkeypatch.setenv(ENV_VAR, base64.b64encode(KEY).decode())
    yield made
    database_factory.drop(url)


def test_files_move_into_the_database_once(instance: Instance,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert instance.run() == 1  # one file refused
    out = capsys.readouterr().out
    assert "refused  al/altered: does not authenticate" in out
    assert "refused  mi/mismatch: differs from proof_document" in out
    assert "skipped  or/orphan: no proof_document row cites it" in out
    assert "skipped  ok/.upload-x1: an upload that never completed" in out
    assert out.strip().endswith("2 imported, 0 already in the database, 2 refused, 2 skipped")
    documents_after, log_after = asyncio.run(instance.counts())
    assert (documents_after, log_after) == (2, 1)  # the import is logged

    async def read_back() -> tuple[bytes, bytes]:
        db = Database.from_url(instance.url)
        store = DatabaseBlobStore(db, Keyring([KEY]), clock=FrozenClock(T0))
        try:
            return (await store.get("ok-default", tenant="default"),
                    await store.get("ok-other", tenant="other"))
        finally:
            await db.dispose()

    assert asyncio.run(read_back()) == (documents.pdf("A"), documents.pdf("B"))

    assert instance.run() == 1  # the altered file is still reported...
    out = capsys.readouterr().out
    assert out.strip().endswith("0 imported, 2 already in the database, 2 refused, 2 skipped")
    assert asyncio.run(instance.counts()) == (documents_after, log_after)  # ...nothing written
    assert (instance.files / "ok" / "ok-default").exists()  # files are never deleted


def test_without_the_instance_keys_nothing_is_read(instance: Instance,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(ENV_VAR)
    assert instance.run() == 1
    assert "No evidence keys" in capsys.readouterr().err
    assert not (instance.data_dir / "secrets").exists()  # no fresh key was made
    assert asyncio.run(instance.counts())[0] == 0

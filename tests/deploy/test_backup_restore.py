"""The backup and restore procedure of docs/operations.md, run for real on PostgreSQL: the
database is the whole backup (proof documents included); a backup of an earlier release, with
its documents directory, is restored with its documents moved into the database."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from consent.clock import FrozenClock
from consent.evidence.blobs_db import DatabaseBlobStore
from consent.evidence.secrets import ENV_VAR, Keyring
from consent.models import ProofDocument, ProofKind
from consent.storage import Database
from tests.conftest import T0
from tests.evidence import documents
from tests.evidence.test_documents_import import write_legacy_file
from tests.support.databases import PostgresFactory
from tests.support.world import build_world

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
KEY = bytes(range(32))


def run(script: str, argument: Path, url: str,
        **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
    env.update(PASSERELLE_DATABASE_URL=url, PASSERELLE_PYTHON=sys.executable,
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""), **extra)
    return subprocess.run(["bash", str(ROOT / "deploy" / script), str(argument)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


async def populate(url: str, *, sealed_in_database: bool) -> bytes:
    """The test world, plus one proof document (its row, and its bytes in the database unless
    they are to come from an old backup's files); the document."""
    db = Database.from_url(url)
    clock = FrozenClock(T0)
    world = await build_world(db, clock)
    data = documents.pdf("Mandat signé par Alice")
    async with db.session() as s:
        s.add(ProofDocument(kind=ProofKind.SIGNED_MANDATE, media_type="application/pdf",
                            size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                            storage_key="proof-1", uploaded_by=world.alice.id, created_at=T0))
    if sealed_in_database:
        await DatabaseBlobStore(db, Keyring([KEY]), clock=clock).put(
            "proof-1", data, "application/pdf", tenant="default")
    await db.dispose()
    return data


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def read_document(url: str) -> bytes:
    db = Database.from_url(url)
    try:
        return await DatabaseBlobStore(db, Keyring([KEY])).get("proof-1", tenant="default")
    finally:
        await db.dispose()


async def fingerprint(url: str) -> dict[str, str]:
    """Per table: an md5 of all its rows in a stable order."""
    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port, user=u.username,
                                 database=u.database)
    try:
        tables = [r["table_name"] for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
        return {t: await conn.fetchval(
            f'SELECT md5(coalesce(string_agg(x::text, \'|\' ORDER BY x::text), \'\')) '  # noqa: S608
            f'FROM "{t}" x') for t in tables}
    finally:
        await conn.close()


@pytest.fixture
def require_pg_dump() -> None:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_dump")) and not shutil.which(
            "pg_dump"):
        pytest.skip("pg_dump is not installed")


@pytest.mark.usefixtures("require_pg_dump")
async def test_a_backup_restores_to_the_same_rows_and_documents(
        postgres_factory: PostgresFactory, tmp_path: Path) -> None:
    source = postgres_factory.create()
    document = await populate(source, sealed_in_database=True)

    made = run("backup.sh", tmp_path / "backups", source)
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip())
    target = postgres_factory.create(migrated=False)
    restored = run("restore.sh", backup, target)

    assert restored.returncode == 0, restored.stderr
    assert files_in(backup) == [
        "SHA256SUMS", "database.dump", "manifest.json"]  # the database is the whole backup
    assert await fingerprint(target) == await fingerprint(source)
    assert await read_document(target) == document  # with the same keys, put back apart
    again = run("restore.sh", backup, target)
    assert again.returncode != 0
    assert "not empty" in again.stderr
    postgres_factory.drop(source)
    postgres_factory.drop(target)


@pytest.mark.usefixtures("require_pg_dump")
async def test_an_older_backup_brings_its_document_files_into_the_database(
        postgres_factory: PostgresFactory, tmp_path: Path) -> None:
    source = postgres_factory.create()
    document = await populate(source, sealed_in_database=False)
    backup = Path(run("backup.sh", tmp_path / "backups", source).stdout.strip())
    old_data = tmp_path / "old-data"
    write_legacy_file(old_data / "documents", "proof-1", document, Keyring([KEY]))
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as archive:
        archive.add(old_data, arcname=".")
    (backup / "data.tar.gz").write_bytes(tar.getvalue())
    (backup / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((backup / n).read_bytes()).hexdigest()}  {n}\n"
        for n in ("database.dump", "data.tar.gz", "manifest.json")))
    target = postgres_factory.create(migrated=False)

    without_keys = run("restore.sh", backup, target)
    assert without_keys.returncode != 0
    assert "No evidence keys" in without_keys.stderr
    postgres_factory.drop(target)
    target = postgres_factory.create(migrated=False)
    restored = run("restore.sh", backup, target, **{ENV_VAR: base64.b64encode(KEY).decode()})

    assert restored.returncode == 0, restored.stderr
    assert "1 imported" in restored.stderr
    assert await read_document(target) == document
    postgres_factory.drop(source)
    postgres_factory.drop(target)


@pytest.mark.usefixtures("require_pg_dump")
async def test_a_corrupted_backup_is_refused(postgres_factory: PostgresFactory,
                                             tmp_path: Path) -> None:
    source = postgres_factory.create()
    made = run("backup.sh", tmp_path / "backups", source)
    backup = Path(made.stdout.strip())
    dump = backup / "database.dump"
    content = bytearray(dump.read_bytes())
    content[len(content) // 2] ^= 0xFF
    dump.write_bytes(bytes(content))
    target = postgres_factory.create(migrated=False)

    restored = run("restore.sh", backup, target)

    assert restored.returncode != 0
    assert "checksums do not match" in restored.stderr
    postgres_factory.drop(source)
    postgres_factory.drop(target)

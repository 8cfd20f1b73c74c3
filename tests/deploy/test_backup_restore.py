"""The backup and restore procedure of docs/operations.md, run for real on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from consent.clock import FrozenClock
from consent.storage import Database
from tests.conftest import T0
from tests.support.databases import PostgresFactory
from tests.support.world import build_world

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, argument: Path, url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
    env.update(PASSERELLE_DATABASE_URL=url, PASSERELLE_DATA_DIR=str(data_dir),
               PASSERELLE_PYTHON=sys.executable,
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return subprocess.run(["bash", str(ROOT / "deploy" / script), str(argument)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


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
    db = Database.from_url(source)
    await build_world(db, FrozenClock(T0))
    await db.dispose()
    data = tmp_path / "data"
    (data / "documents" / "ab").mkdir(parents=True)
    (data / "documents" / "ab" / "proof.sealed").write_bytes(os.urandom(4096))
    (data / "secret.key").write_text("0" * 64)  # a key file: must stay out of the backup

    made = run("backup.sh", tmp_path / "backups", source, data)
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip())
    target = postgres_factory.create(migrated=False)
    restored_data = tmp_path / "restored"
    restored = run("restore.sh", backup, target, restored_data)

    assert restored.returncode == 0, restored.stderr
    assert await fingerprint(target) == await fingerprint(source)
    assert (restored_data / "documents" / "ab" / "proof.sealed").read_bytes() == (
        data / "documents" / "ab" / "proof.sealed").read_bytes()
    assert not (restored_data / "secret.key").exists()
    again = run("restore.sh", backup, target, tmp_path / "elsewhere")
    assert again.returncode != 0
    assert "not empty" in again.stderr
    postgres_factory.drop(source)
    postgres_factory.drop(target)


@pytest.mark.usefixtures("require_pg_dump")
async def test_a_corrupted_backup_is_refused(postgres_factory: PostgresFactory,
                                             tmp_path: Path) -> None:
    source = postgres_factory.create()
    data = tmp_path / "data"
    data.mkdir()
    made = run("backup.sh", tmp_path / "backups", source, data)
    backup = Path(made.stdout.strip())
    dump = backup / "database.dump"
    content = bytearray(dump.read_bytes())
    content[len(content) // 2] ^= 0xFF
    dump.write_bytes(bytes(content))
    target = postgres_factory.create(migrated=False)

    restored = run("restore.sh", backup, target, tmp_path / "restored")

    assert restored.returncode != 0
    assert "checksums do not match" in restored.stderr
    postgres_factory.drop(source)
    postgres_factory.drop(target)

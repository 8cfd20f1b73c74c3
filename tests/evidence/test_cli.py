"""``passerelle audit export`` and ``passerelle audit verify``, end to end on an instance."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consent.clock import FrozenClock
from consent.evidence.service import Evidence
from consent.storage.database import Database
from proxy.cli import main
from tests.evidence import scenario
from tests.evidence.conftest import create_tables

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    """An instance directory whose database holds the scenario's history, signed with the
    instance's own (sealed) keys."""
    data_dir = tmp_path / "instance"
    data_dir.mkdir()

    async def fill() -> None:
        db = Database.from_url(f"sqlite:///{data_dir / 'passerelle.db'}")
        await create_tables(db)
        clock = FrozenClock(datetime.now(UTC) - timedelta(days=3))
        evidence = Evidence.open(db, data_dir, origin="cli.test/evidence", clock=clock)
        await scenario.build(evidence, clock)
        await evidence.aclose()
        await db.dispose()

    asyncio.run(fill())
    return data_dir


def test_export_then_verify(instance: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "bundle.zip"
    assert main(["audit", "export", "--data-dir", str(instance), "--consent", "c-1",
                 "--actor", "auditor:test", "-o", str(bundle)]) == 0
    assert "8 entries, 0 pruned, 0 outside consent" in capsys.readouterr().err
    assert not bundle.with_name("bundle.zip.partial").exists()
    with zipfile.ZipFile(bundle) as archive:  # the proof document, from the database
        assert archive.read("documents/doc-mandate.pdf").startswith(b"%PDF-")
    assert not (instance / "documents").exists()
    assert main(["audit", "verify", str(bundle), "--consent", "c-1"]) == 0
    assert "RESULT: VALID" in capsys.readouterr().out
    assert main(["audit", "verify", str(bundle), "--consent", "c-2"]) == 1
    assert "this bundle selects consent c-1, not c-2" in capsys.readouterr().out
    with zipfile.ZipFile(bundle) as original:
        files = {n: original.read(n) for n in original.namelist()}
    files["summary.txt"] = files["summary.txt"].replace(b"withdraw", b"renew")
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as out:
        for name, content in files.items():
            out.writestr(name, content)
    assert main(["audit", "verify", str(tampered)]) == 1
    assert "summary.txt: content changed" in capsys.readouterr().out


def test_the_keyring_never_travels(instance: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.zip"
    assert main(["audit", "export", "--data-dir", str(instance), "--household", "h-1",
                 "--from", "2000-01-01", "-o", str(bundle)]) == 0
    secret_lines = [line for line in (instance / "secrets" / "evidence.keys").read_text()
                    .splitlines() if not line.startswith("#")]
    with zipfile.ZipFile(bundle) as archive:
        content = b"".join(archive.read(n) for n in archive.namelist())
    assert secret_lines
    assert all(line.encode() not in content for line in secret_lines)
    assert b"PRIVATE" not in content


def test_bad_selections_are_refused(instance: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "none.zip"
    assert main(["audit", "export", "--data-dir", str(instance), "-o", str(out)]) == 2
    assert "Select a consent" in capsys.readouterr().err
    assert main(["audit", "export", "--data-dir", str(instance), "--from", "2026-02-01",
                 "--to", "2026-01-01", "-o", str(out)]) == 2
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["audit", "export", "--data-dir", str(instance), "--from", "yesterday",
              "-o", str(out)])


def test_verifier_runs_without_any_database_driver(instance: Path, tmp_path: Path) -> None:
    """The offline verifier imports only the standard library, cryptography and rfc8785."""
    bundle = tmp_path / "bundle.zip"
    assert main(["audit", "export", "--data-dir", str(instance), "--consent", "c-1",
                 "-o", str(bundle)]) == 0
    blocked = ("sqlalchemy", "sqlmodel", "aiosqlite", "asyncpg", "aiohttp", "alembic",
               "authlib", "pydantic", "proxy", "adapters", "consent.storage")
    code = ("import sys\n"
            f"for name in {blocked!r}: sys.modules[name] = None\n"
            "from consent.evidence.verify import main\n"
            f"sys.exit(main([{str(bundle)!r}, '--consent', 'c-1']))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "RESULT: VALID" in result.stdout

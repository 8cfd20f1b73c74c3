"""``passerelle audit export`` and ``passerelle audit verify``, end to end on an instance."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consent.clock import FrozenClock
from consent.evidence.keystore import MemoryKeyStore
from consent.evidence.selection import Selection
from consent.evidence.service import Evidence
from consent.evidence.verify_report import (
    EXIT_INVALID,
    EXIT_UNTRUSTED_KEYS,
    EXIT_USAGE,
    EXIT_VALID,
)
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
    trusted = published_keys(instance, tmp_path)
    assert main(["audit", "verify", str(bundle), "--consent", "c-1",
                 "--trusted-keys", str(trusted)]) == EXIT_VALID
    assert "RESULT: VALID" in capsys.readouterr().out
    assert main(["audit", "verify", str(bundle), "--consent", "c-2",
                 "--trusted-keys", str(trusted)]) == EXIT_INVALID
    assert "this bundle selects consent c-1, not c-2" in capsys.readouterr().out
    with zipfile.ZipFile(bundle) as original:
        files = {n: original.read(n) for n in original.namelist()}
    files["summary.txt"] = files["summary.txt"].replace(b"withdraw", b"renew")
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as out:
        for name, content in files.items():
            out.writestr(name, content)
    assert main(["audit", "verify", str(tampered)]) == EXIT_INVALID
    assert "summary.txt: content changed" in capsys.readouterr().out


def published_keys(instance: Path, tmp_path: Path) -> Path:
    """The instance's public key history, as ``GET /audit/v1/keys`` publishes it."""
    async def history() -> dict[str, object]:
        db = Database.from_url(f"sqlite:///{instance / 'passerelle.db'}")
        evidence = Evidence.open(db, instance, origin="cli.test/evidence")
        origin = await evidence.origin()
        keys = [key.to_json(origin) for key in (await evidence.keys.history()).keys]
        await evidence.aclose()
        await db.dispose()
        return {"origin": origin, "keys": keys}

    path = tmp_path / "published-keys.json"
    path.write_text(json.dumps(asyncio.run(history())))
    return path


def test_without_trusted_keys_the_verdict_is_unverified_keys(
        instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Finding 4 of review 15c: without --trusted-keys the verifier took the bundle's own
    keys.json as trusted and printed RESULT: VALID with exit code 0, so a bundle forged from
    scratch with anyone's key passed the default invocation. Now the verdict says the keys are
    the bundle's own and unverified, with an exit code of its own, unless the auditor passes
    the operator's keys (then a forged bundle is INVALID) or opts out for testing."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'forger.db'}")
    asyncio.run(create_tables(db))

    async def forge() -> bytes:  # a history made up by someone without the operator's keys
        clock = FrozenClock(datetime.now(UTC) - timedelta(days=3))
        forger = Evidence(db, MemoryKeyStore(clock=clock), scenario.evidence_for(
            db, clock).blobs, origin="cli.test/evidence", clock=clock)
        await scenario.build(forger, clock)
        out = io.BytesIO()
        await forger.export(Selection(consent_id="c-1"), out, actor="auditor:cnil-1")
        await db.dispose()
        return out.getvalue()

    forged = tmp_path / "forged.zip"
    forged.write_bytes(asyncio.run(forge()))
    assert main(["audit", "verify", str(forged), "--consent", "c-1"]) == EXIT_UNTRUSTED_KEYS
    out = capsys.readouterr().out
    assert "RESULT: VALID" not in out
    assert "Keys: UNVERIFIED - taken from the bundle itself" in out
    assert "RESULT: UNVERIFIED KEYS" in out
    trusted = published_keys(instance, tmp_path)
    assert main(["audit", "verify", str(forged), "--trusted-keys", str(trusted)]) == \
        EXIT_INVALID
    assert "is not among the trusted keys" in capsys.readouterr().out
    assert main(["audit", "verify", str(forged), "--accept-bundle-keys"]) == EXIT_VALID
    assert "keys NOT verified: --accept-bundle-keys" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, "not json", '{"keys": [{"alg": "RSA"}]}',
                                     '{"keys": []}', '{"keys": [], "keys": []}'])
def test_an_unusable_trusted_keys_file_is_a_usage_error(
        tmp_path: Path, content: str | None) -> None:
    """Finding 12 of review 15c: a missing or malformed --trusted-keys file ended in a
    traceback and exit code 1, the code of a forged bundle. It is a usage error (2), said in
    one line."""
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(b"")
    keys = tmp_path / "keys.json"
    if content is not None:
        keys.write_text(content)
    done = subprocess.run([sys.executable, "-m", "consent.evidence.verify", str(bundle),
                           "--trusted-keys", str(keys)], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == EXIT_USAGE
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"passerelle audit verify: error: {keys}")
    assert main(["audit", "verify", str(tmp_path / "nothing.zip")]) == EXIT_USAGE


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
            f"sys.exit(main([{str(bundle)!r}, '--consent', 'c-1', '--accept-bundle-keys']))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "RESULT: VALID" in result.stdout

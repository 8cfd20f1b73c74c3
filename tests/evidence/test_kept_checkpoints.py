"""An auditor keeps the anchors of the bundles they verify and holds every new bundle against
them (docs/evidence-format.md §10 step 3, §11): ``passerelle audit export --checkpoint-size N``
and ``passerelle audit verify --checkpoint kept/N.note``, end to end on an instance."""

from __future__ import annotations

import asyncio
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consent.clock import FrozenClock
from consent.evidence.errors import LogForked
from consent.evidence.events import SERVED, AdminEvent, Refs
from consent.evidence.keystore import public_bytes
from consent.evidence.notes import Checkpoint, NoteKey, assemble, signature_line
from consent.evidence.service import SIGNED_HEAD_FILE, Evidence
from consent.evidence.verify_report import EXIT_INVALID, EXIT_USAGE, EXIT_VALID
from consent.storage.database import Database
from proxy.cli import main
from tests.evidence import scenario
from tests.evidence.conftest import create_tables
from tests.evidence.fork import fork
from tests.evidence.test_cli import published_keys

ORIGIN = "kept.test/evidence"


def on_instance(data_dir: Path, work: Any) -> Any:
    """Run ``work(evidence)`` on the instance, as one of its processes would."""
    async def run() -> Any:
        db = Database.from_url(f"sqlite:///{data_dir / 'passerelle.db'}")
        evidence = Evidence.open(db, data_dir, origin=ORIGIN)
        try:
            return await work(evidence, db)
        finally:
            await evidence.aclose()
            await db.dispose()

    return asyncio.run(run())


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    """The scenario's history (10 entries, checkpoints of sizes 1 and 10), signed with the
    instance's own sealed keys."""
    data_dir = tmp_path / "instance"
    data_dir.mkdir()

    async def fill() -> None:
        db = Database.from_url(f"sqlite:///{data_dir / 'passerelle.db'}")
        await create_tables(db)
        clock = FrozenClock(datetime.now(UTC) - timedelta(days=3))
        evidence = Evidence.open(db, data_dir, origin=ORIGIN, clock=clock)
        await scenario.build(evidence, clock)
        await evidence.aclose()
        await db.dispose()

    asyncio.run(fill())
    return data_dir


def lose_witness(instance: Path) -> None:
    """A replica without the instance's signed-head witness (consent/evidence/witness.py):
    what the keyless writer must count on, since the witness refuses the rewritten log."""
    (instance / SIGNED_HEAD_FILE).unlink()


def export(instance: Path, out: Path, *options: str) -> int:
    return main(["audit", "export", "--data-dir", str(instance), "--actor", "auditor:test",
                 "-o", str(out), *options])


def keep(bundle: Path, size: int, kept: Path) -> Path:
    """What an auditor keeps of a verified bundle: its checkpoint note of ``size``."""
    kept.mkdir(exist_ok=True)
    with zipfile.ZipFile(bundle) as archive:
        note = archive.read(f"checkpoints/{size}.note")
    path = kept / f"{size}.note"
    path.write_bytes(note)
    return path


def carried(bundle: Path) -> dict[int, bool]:
    """Size -> anchor flag of every checkpoint in the bundle's index."""
    with zipfile.ZipFile(bundle) as archive:
        index = json.loads(archive.read("checkpoints/index.json"))
    return {item["size"]: item["anchor"] for item in index["checkpoints"]}


def verify(bundle: Path, trusted: Path, *kept: Path) -> int:
    options = [option for path in kept for option in ("--checkpoint", str(path))]
    return main(["audit", "verify", str(bundle), "--trusted-keys", str(trusted), *options])


def log_more(instance: Path) -> None:
    """The log grows and the server signs its head, as its periodic task does."""
    async def work(evidence: Evidence, _db: Database) -> None:
        await evidence.admin(AdminEvent(at=evidence.clock.now(), actor="cli:ops",
                                        action="recipient.create", refs=Refs("t1"),
                                        details={}))
        await evidence.checkpoint()

    on_instance(instance, work)


def test_a_kept_checkpoint_the_new_bundle_agrees_with(
        instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "first.zip"
    assert export(instance, first, "--consent", "c-1") == 0
    assert carried(first) == {1: False, 10: True}
    trusted = published_keys(instance, tmp_path)
    kept = [keep(first, 10, tmp_path / "kept"), keep(first, 1, tmp_path / "kept")]
    log_more(instance)
    second = tmp_path / "second.zip"
    assert export(instance, second, "--consent", "c-1", "--checkpoint-size", "10",
                  "--checkpoint-size", "1") == 0
    assert carried(second) == {1: False, 10: False, 12: True}
    capsys.readouterr()
    assert verify(second, trusted, *kept) == EXIT_VALID
    out = capsys.readouterr().out
    assert "RESULT: VALID" in out
    assert "Kept checkpoints: size 1, 10 equal to this bundle's" in out


def test_the_fork_of_a_signed_size_is_named(
        instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Review 15c reproduced: a database writer without any key rewrites an access (served
    becomes failed: the coach never had the data), rebuilds the tree, removes the checkpoint
    of size 10 and the trace of the first export, and the server signs size 10 again with
    another root. The new bundle is sound on its own; against the anchor the auditor kept
    from the first bundle, it is a fork."""
    first = tmp_path / "first.zip"
    assert export(instance, first, "--consent", "c-1") == 0
    trusted = published_keys(instance, tmp_path)
    kept = keep(first, 10, tmp_path / "kept")
    capsys.readouterr()
    assert verify(first, trusted, kept) == EXIT_VALID

    def served_fails(payload: dict[str, Any]) -> None:
        assert payload["outcome"] == SERVED
        payload["outcome"] = "failed"

    async def rewrite(evidence: Evidence, db: Database) -> None:
        await fork(db, 10, 3, served_fails)
        await evidence.checkpoint()  # the server's periodic task, after a restart

    # The instance that signed size 10 refuses to sign the rewritten log (its witness)...
    with pytest.raises(LogForked, match="does not extend the head of 10 entries"):
        on_instance(instance, rewrite)
    # ... a replica that never signed it (a new container, a lost witness) signs it: the
    # auditor's kept anchor is then what shows the fork.
    lose_witness(instance)
    on_instance(instance, lambda evidence, _db: evidence.checkpoint())
    log_more(instance)
    second = tmp_path / "second.zip"
    assert export(instance, second, "--consent", "c-1", "--checkpoint-size", "10") == 0
    assert carried(second)[10] is False
    capsys.readouterr()
    assert verify(second, trusted) == EXIT_VALID  # what format 1 alone cannot see
    assert verify(second, trusted, kept) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "RESULT: INVALID" in out
    assert f"--checkpoint {kept}: two checkpoints of size 10 with different roots: the log " \
           "was rewritten" in out


def test_a_deleted_checkpoint_fails_the_export(
        instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The writer rewrites an entry below size 10 and deletes the checkpoints that cover it,
    but leaves the log's size (11, the first export's trace included): the server signs only
    its new head, and an export asked for the auditor's kept size fails, saying why."""
    assert export(instance, tmp_path / "first.zip", "--consent", "c-1") == 0

    def served_fails(payload: dict[str, Any]) -> None:
        payload["outcome"] = "failed"

    on_instance(instance, lambda _evidence, db: fork(db, 11, 3, served_fails))
    lose_witness(instance)  # else the instance refuses the rewritten log outright
    out = tmp_path / "second.zip"
    capsys.readouterr()
    assert export(instance, out, "--consent", "c-1", "--checkpoint-size", "10") == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("passerelle audit export: No signed checkpoint of size 10 is "
                           "stored.")
    assert "its absence is itself evidence of tampering" in line
    assert not out.exists()
    assert not out.with_name("second.zip.partial").exists()


def test_export_sizes_the_server_cannot_give(
        instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.zip"
    assert export(instance, out, "--consent", "c-1", "--checkpoint-size", "5") == 1
    assert "No signed checkpoint of size 5 is stored" in capsys.readouterr().err
    assert export(instance, out, "--consent", "c-1", "--checkpoint-size", "1000") == 1
    err = capsys.readouterr().err
    # 11: the refusal just above is logged (audit.export.refused), so the log grew by one.
    assert "No checkpoint of size 1000 can be exported: the log's head is 11 entries" in err
    assert "rolled back" in err
    too_many = [option for size in range(65) for option in ("--checkpoint-size", str(size))]
    assert export(instance, out, "--consent", "c-1", *too_many) == EXIT_USAGE
    assert "At most 64 checkpoint sizes" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        export(instance, out, "--consent", "c-1", "--checkpoint-size", "-1")
    assert refused.value.code == EXIT_USAGE
    assert not out.exists()


def test_a_kept_checkpoint_the_bundle_cannot_judge_fails_closed(
        instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "first.zip"
    assert export(instance, first, "--consent", "c-1") == 0
    trusted = published_keys(instance, tmp_path)
    kept_1 = keep(first, 1, tmp_path / "kept")
    other = tmp_path / "c2.zip"  # consent c-2's records were first covered by size 10
    assert export(instance, other, "--consent", "c-2") == 0
    assert carried(other) == {10: False, 11: True}
    capsys.readouterr()
    assert verify(other, trusted, kept_1) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "RESULT: INVALID" in out
    assert "this bundle holds no checkpoint of size 1 to compare it with, so it cannot be " \
           "judged: export the bundle again with --checkpoint-size 1" in out
    again = tmp_path / "c2-again.zip"
    assert export(instance, again, "--consent", "c-2", "--checkpoint-size", "1") == 0
    assert carried(again)[1] is False
    assert verify(again, trusted, kept_1) == EXIT_VALID

    newer = keep(other, 11, tmp_path / "kept")  # above the first bundle's anchor of 10
    capsys.readouterr()
    assert verify(first, trusted, newer) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "of size 11, larger than this bundle's anchor (10): the bundle is older than " \
           "what you hold" in out
    assert "the log was rolled back" in out
    assert "--checkpoint-size 11" in out


def test_kept_notes_that_cannot_be_used(
        instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "b.zip"
    assert export(instance, bundle, "--consent", "c-1") == 0
    trusted = published_keys(instance, tmp_path)
    kept = keep(bundle, 10, tmp_path / "kept")
    root = Checkpoint.parse(kept.read_text().split("\n\n")[0] + "\n").root

    async def sign_as(evidence: Evidence, _db: Database, origin: str) -> str:
        """A note of ``origin`` signed by the instance's own (trusted) key."""
        text = Checkpoint(origin, 10, root).text()
        signature = await evidence.keys.sign(text.encode(), at=evidence.clock.now())
        key = (await evidence.keys.history()).get(signature.kid)
        assert key is not None
        return assemble(text, [signature_line(key.note_key(origin), signature.value)])

    elsewhere = tmp_path / "elsewhere.note"
    elsewhere.write_text(on_instance(
        instance, lambda evidence, db: sign_as(evidence, db, "elsewhere.test/evidence")))
    capsys.readouterr()
    assert verify(bundle, trusted, elsewhere) == EXIT_INVALID
    assert f"--checkpoint {elsewhere}: a checkpoint of log elsewhere.test/evidence, while " \
           f"this bundle is of log {ORIGIN}" in capsys.readouterr().out

    stranger = Ed25519PrivateKey.generate()
    text = Checkpoint(ORIGIN, 10, root).text()
    forged = tmp_path / "forged.note"
    forged.write_text(assemble(text, [signature_line(
        NoteKey(ORIGIN, public_bytes(stranger)), stranger.sign(text.encode()))]))
    malformed = tmp_path / "malformed.note"
    malformed.write_text("kept.test/evidence\nten\n\n")
    for path, why in ((forged, "not signed by a key of --trusted-keys"),
                      (malformed, "not a C2SP signed checkpoint"),
                      (tmp_path / "missing.note", "cannot be read")):
        assert verify(bundle, trusted, kept, path) == EXIT_USAGE
        captured = capsys.readouterr()
        assert captured.out == ""  # nothing was judged
        assert captured.err.startswith(f"passerelle audit verify: error: {path}: ")
        assert why in captured.err
        assert len(captured.err.splitlines()) == 1
    assert main(["audit", "verify", str(bundle), "--checkpoint", str(kept)]) == EXIT_USAGE
    assert "--checkpoint needs --trusted-keys" in capsys.readouterr().err

"""``passerelle keys reseal`` on an instance: the documented rotation (append a key, re-seal,
remove the old line) ends with an instance whose evidence still exports and verifies."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from consent.evidence.blobs_db import DatabaseBlobStore
from consent.evidence.log_reader import ENTRY
from consent.evidence.secrets import ENV_VAR, Keyring, kek_id_of
from consent.storage.database import Database
from proxy.cli import main
from tests.evidence import documents
from tests.support.databases import DatabaseFactory

K1, K2 = bytes(range(32)), bytes(range(1, 33))
OLD, NEW = kek_id_of(K1), kek_id_of(K2)
PDF = documents.pdf("mandat")


def keys(monkeypatch: pytest.MonkeyPatch, *lines: bytes) -> None:
    """The evidence keys the next command reads, as the environment gives them."""
    monkeypatch.setenv(ENV_VAR, ",".join(base64.b64encode(k).decode() for k in lines))


@dataclass
class Instance:
    url: str
    options: list[str]

    async def _query(self, keyring: Keyring) -> tuple[bytes, list[dict[str, object]]]:
        db = Database.from_url(self.url)
        try:
            document = await DatabaseBlobStore(db, keyring).get("doc-1", tenant="default")
            async with db.engine.connect() as conn:
                payloads = (await conn.execute(select(ENTRY.c.payload).where(
                    ENTRY.c.kind == "admin"))).scalars().all()
            return document, [json.loads(p) for p in payloads]
        finally:
            await db.dispose()

    def document_and_events(self, *lines: bytes) -> tuple[bytes, list[dict[str, object]]]:
        return asyncio.run(self._query(Keyring(list(lines))))


async def _store_document(url: str) -> None:
    db = Database.from_url(url)
    try:
        await DatabaseBlobStore(db, Keyring([K1])).put("doc-1", PDF, "application/pdf",
                                                        tenant="default")
    finally:
        await db.dispose()


@pytest.fixture
def instance(database_factory: DatabaseFactory, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    """An instance whose one document and signing key are sealed with K1."""
    url = database_factory.create()
    made = Instance(url, ["--database-url", url, "--data-dir", str(tmp_path / "instance")])
    keys(monkeypatch, K1)
    asyncio.run(_store_document(url))
    assert main(["keys", "rotate", *made.options]) == 0
    yield made
    database_factory.drop(url)


def test_rotate_reseal_then_drop_the_old_key(instance: Instance, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    keys(monkeypatch, K1, K2)  # 1. append a key
    capsys.readouterr()
    assert main(["keys", "reseal", "--dry-run", *instance.options]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"documents  {OLD}  1  to re-seal", f"signing-keys  {OLD}  1  to re-seal"]
    assert instance.document_and_events(K1)[1] == []  # the dry run wrote nothing

    assert main(["keys", "reseal", "--actor", "ops:olga", *instance.options]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"documents: 1 re-sealed ({OLD}: 1), 0 already current, 0 failed",
        f"signing-keys: 1 re-sealed ({OLD}: 1), 0 already current, 0 failed",
        f"nothing remains under an old key; all sealed with {NEW}"]
    assert main(["keys", "reseal", *instance.options]) == 0  # again: nothing to do
    assert "documents: 0 re-sealed, 1 already current, 0 failed" in capsys.readouterr().out

    keys(monkeypatch, K2)  # 2. drop the old line
    document, events = instance.document_and_events(K2)
    assert document == PDF
    assert [(e["action"], e["actor"], e["details"]) for e in events] == [
        ("keys.reseal", "ops:olga", {"to_key": NEW, "resealed": {OLD: 1}, "failed": {}})] * 2
    assert main(["keys", "reseal", "--dry-run", *instance.options]) == 0
    bundle = tmp_path / "bundle.zip"  # signed with the re-sealed signing key, K1 gone
    assert main(["audit", "export", "--from", "2000-01-01", "-o", str(bundle),
                 *instance.options]) == 0
    # what is checked here is the chain of signatures after the re-sealing, not the keys'
    # provenance: the bundle's own keys.json is taken as is
    assert main(["audit", "verify", str(bundle), "--accept-bundle-keys"]) == 0
    assert "RESULT: VALID" in capsys.readouterr().out


def test_refusals(instance: Instance, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> None:
    keys(monkeypatch, K1, K2)
    assert main(["keys", "reseal", "--from-key", NEW, *instance.options]) == 2
    assert f"{NEW} is the current key" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["keys", "reseal", "--from-key", "K1", *instance.options])
    keys(monkeypatch, K2)  # the old line removed too early: reported, no row rewritten
    assert main(["keys", "reseal", *instance.options]) == 1
    out = capsys.readouterr().out
    assert f"failed  documents doc-1 ({OLD}): sealed with {OLD}, which the evidence keyring " \
           "lacks" in out
    assert f"remaining under an old key: documents {OLD}: 1, signing-keys {OLD}: 1" in out
    monkeypatch.delenv(ENV_VAR)
    assert main(["keys", "reseal", *instance.options]) == 1
    assert "No evidence keys" in capsys.readouterr().err
    assert instance.document_and_events(K1)[0] == PDF

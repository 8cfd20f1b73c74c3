"""``passerelle admin-token create|list|revoke``: minting and retiring an admin API token are
privileged acts, journaled and logged like the staff's, and neither record holds the token nor
its digest (R16, R19)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from consent.tokens import digest
from proxy.cli import main
from proxy.oauth.admin_tokens import ADMIN_TOKENS_FILE, admin_token_digests
from proxy.settings import Settings
from tests.support.databases import SqliteFactory
from tests.support.journal import journal_and_events


def test_create_and_revoke_are_recorded_without_the_secret(
        sqlite_factory: SqliteFactory, data_dir: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = sqlite_factory.create()
    settings = Settings(data_dir=data_dir, database_url=url)
    instance = ["--data-dir", str(data_dir), "--database-url", url]
    assert main(["admin-token", "create", *instance, "--json", "--actor", "cli:olga"]) == 0
    created = json.loads(capsys.readouterr().out)
    token, token_id = created["admin_token"], created["id"]
    assert admin_token_digests(settings)[digest(token)].id == token_id
    assert main(["admin-token", "list", *instance, "--json"]) == 0
    listed = capsys.readouterr().out
    assert json.loads(listed) == [{"id": token_id, "tenant": "default"}]
    assert main(["admin-token", "revoke", token_id, *instance, "--actor", "cli:olga"]) == 0
    assert digest(token) not in admin_token_digests(settings)  # the API refuses it now
    assert main(["admin-token", "revoke", token_id, *instance]) == 2  # nothing left to revoke
    printed = listed + "".join(capsys.readouterr())

    journal, events, dump = asyncio.run(journal_and_events(url))
    target = f"admin-token:{token_id}"
    assert journal == [("default", "admin-token.create", target, "done"),
                       ("default", "admin-token.revoke", target, "done")]
    assert [(e["action"], e["actor"], e["target"]) for e in events] == [
        ("admin-token.create", "cli:olga", target), ("admin-token.revoke", "cli:olga", target)]
    logged = " ".join(r.getMessage() for r in caplog.records)
    for secret in (token, digest(token), digest(token)[:12]):
        assert secret not in dump
        assert secret not in logged
        assert secret not in printed
    sqlite_factory.drop(url)


def test_a_token_for_a_tenant_that_does_not_exist_is_neither_made_nor_recorded(
        sqlite_factory: SqliteFactory, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_factory.create()
    instance = ["--data-dir", str(data_dir), "--database-url", url]
    assert main(["admin-token", "create", *instance, "--tenant", "nowhere"]) == 2
    assert "No tenant 'nowhere'" in capsys.readouterr().err
    assert not (data_dir / ADMIN_TOKENS_FILE).exists() or \
        (data_dir / ADMIN_TOKENS_FILE).read_text() == ""
    journal, events, _dump = asyncio.run(journal_and_events(url))
    assert (journal, events) == ([], [])
    sqlite_factory.drop(url)


def test_a_token_written_before_ids_existed_is_named_and_revoked_by_its_old_name(
        sqlite_factory: SqliteFactory, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_factory.create()
    old = digest("pas_adm_from-an-older-release")
    (data_dir / ADMIN_TOKENS_FILE).write_text(f"{old} default\n")
    instance = ["--data-dir", str(data_dir), "--database-url", url]
    assert main(["admin-token", "revoke", old[:12], *instance]) == 0
    assert admin_token_digests(Settings(data_dir=data_dir, database_url=url)) == {}
    journal, _events, _dump = asyncio.run(journal_and_events(url))
    assert journal == [("default", "admin-token.revoke", f"admin-token:{old[:12]}", "done")]
    sqlite_factory.drop(url)

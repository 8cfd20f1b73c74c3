"""``passerelle staff account|token``: bootstrap a tenant's staff and mint staff API tokens."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from consent.clock import SystemClock
from consent.models import Account, StaffToken
from consent.services.tenants import create_tenant
from consent.staff import authenticate_token
from consent.storage import Database
from consent.tokens import digest
from proxy.cli import main
from tests.support.databases import SqliteFactory
from tests.support.journal import journal_and_events, tables_holding


async def test_accounts_and_tokens_from_the_command_line(
        sqlite_factory: SqliteFactory, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_factory.create()
    db = Database.from_url(url)
    try:
        async with db.session() as s:
            await create_tenant(s, "wallonie", "Wallonie", SystemClock().now())
        common = ["--data-dir", str(data_dir), "--database-url", url, "--json"]
        code = await asyncio.to_thread(main, [
            "staff", "account", "--tenant", "wallonie", "--username", "wanda",
            "--name", "Wanda", "--role", "auditor", "--organisation", "Régulateur",
            "--organisation-kind", "auditor", *common])
        assert code == 0
        created = json.loads(capsys.readouterr().out)
        assert created["tenant"] == "wallonie"
        assert len(created["password"]) >= 20
        code = await asyncio.to_thread(main, ["staff", "token", "--tenant", "wallonie",
                                              "--username", "wanda", *common])
        assert code == 0
        token = json.loads(capsys.readouterr().out)["staff_token"]
        async with db.session() as s:
            principal = await authenticate_token(s, token, SystemClock().now())
            assert principal is not None
            assert (principal.tenant_id, principal.username) == ("wallonie", "wanda")
            assert (await s.get(Account, principal.account_id)) is not None
        code = await asyncio.to_thread(main, ["staff", "token", "--username", "wanda",
                                              *common])
        assert code == 2  # wanda is not in the default tenant
        assert "No enabled account" in capsys.readouterr().out
    finally:
        await db.dispose()
        sqlite_factory.drop(url)


def _staff_account(instance: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staff", "account", "--username", "wanda", "--name", "Wanda", "--role",
                 "auditor", "--role", "reviewer", *instance]) == 0
    capsys.readouterr()


def test_issuing_a_token_is_journaled_and_logged_without_the_secret(
        sqlite_factory: SqliteFactory, data_dir: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = sqlite_factory.create()
    instance = ["--data-dir", str(data_dir), "--database-url", url]
    _staff_account(instance, capsys)
    assert main(["staff", "token", "--username", "wanda", "--actor", "cli:olga", "--json",
                 *instance]) == 0
    out, err = capsys.readouterr()
    issued = json.loads(out)
    token, token_id = issued["staff_token"], issued["id"]
    assert token.startswith("pas_stf_")
    assert token_id in err
    assert token not in err

    journal, events, dump = asyncio.run(journal_and_events(url))
    target = f"staff-token:{token_id}"
    assert journal == [("default", "staff-token.create", target, "done")]
    assert len(events) == 1
    event = events[0]
    assert (event["action"], event["actor"], event["target"]) == (
        "staff-token.create", "cli:olga", target)
    assert (event["details"]["username"], event["details"]["granted_roles"],
            event["details"]["expires_at"]) == ("wanda", "auditor,reviewer", issued["expires_at"])
    # Every record, down to the database driver's DEBUG trace of statements, whose parameters
    # include the digest the staff_token row must keep; from INFO up, not even the digest.
    assert token not in " ".join(r.getMessage() for r in caplog.records)
    logged = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    for secret in (token, digest(token), digest(token)[:12]):
        assert secret not in dump
        assert secret not in logged
        assert secret not in err
    assert asyncio.run(tables_holding(url, token)) == []
    assert asyncio.run(tables_holding(url, digest(token))) == ["staff_token"]  # to check it
    sqlite_factory.drop(url)


def test_a_token_whose_record_fails_is_not_issued(
        sqlite_factory: SqliteFactory, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_factory.create()
    instance = ["--data-dir", str(data_dir), "--database-url", url]
    _staff_account(instance, capsys)
    asyncio.run(_break_journal(url))  # the journal refuses rows: the failure comes last
    with pytest.raises(IntegrityError, match="journal unavailable"):
        main(["staff", "token", "--username", "wanda", *instance])
    assert "pas_stf_" not in "".join(capsys.readouterr())
    journal, events, _dump = asyncio.run(journal_and_events(url))
    assert (journal, events) == ([], [])
    assert asyncio.run(tables_holding(url, "pas_stf_")) == []
    assert asyncio.run(_count_tokens(url)) == 0
    sqlite_factory.drop(url)


async def _break_journal(url: str) -> None:
    db = Database.from_url(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(sa.text(
                "CREATE TRIGGER journal_down BEFORE INSERT ON staff_action "
                "BEGIN SELECT RAISE(ABORT, 'journal unavailable'); END"))
    finally:
        await db.dispose()


async def _count_tokens(url: str) -> int:
    db = Database.from_url(url)
    try:
        async with db.session() as s:
            return len((await s.exec(select(StaffToken))).all())
    finally:
        await db.dispose()


async def test_an_account_in_an_unknown_tenant_is_a_clear_error(
        sqlite_factory: SqliteFactory, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Review 15d: ``staff account --tenant nosuch`` ended in an IntegrityError traceback
    (the party's foreign key); it is now "No tenant 'nosuch'", exit 2."""
    url = sqlite_factory.create()
    try:
        code = await asyncio.to_thread(main, [
            "staff", "account", "--tenant", "nosuch", "--username", "rita", "--name", "Rita",
            "--role", "reviewer", "--data-dir", str(data_dir), "--database-url", url])
        assert code == 2
        assert "No tenant 'nosuch'" in capsys.readouterr().out
    finally:
        sqlite_factory.drop(url)

"""``passerelle staff account|token``: bootstrap a tenant's staff and mint staff API tokens."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from consent.clock import SystemClock
from consent.models import Account
from consent.services.tenants import create_tenant
from consent.staff import authenticate_token
from consent.storage import Database
from proxy.cli import main
from tests.support.databases import SqliteFactory


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

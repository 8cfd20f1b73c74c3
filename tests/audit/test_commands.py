"""``passerelle auditor-token create`` and ``passerelle keys rotate``, and the admin API's
state changes: each leaves its trace in the evidence log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from consent.auditors import AuditorToken
from consent.clock import SystemClock
from consent.evidence.log_reader import ENTRY
from consent.evidence.tables import SigningKeyRow
from consent.models import AccountRole, PartyKind
from consent.services import registry
from consent.storage import Database
from consent.tokens import ADMIN_PREFIX, digest, new_secret
from proxy.cli import main
from proxy.keys import settings_key
from proxy.oauth.admin_tokens import ADMIN_TOKENS_FILE
from tests.proxy.world import World
from tests.support.databases import SqliteFactory


async def _accounts(url: str) -> None:
    db = Database.from_url(url)
    now = SystemClock().now()
    try:
        async with db.session() as session:
            for username, role in (("cnil", AccountRole.AUDITOR),
                                   ("bob", AccountRole.HOUSEHOLD)):
                party = await registry.add_party(session, tenant_id="default",
                                                 kind=PartyKind.AUDITOR, name=username, now=now)
                await registry.add_account(session, tenant_id="default", username=username,
                                           password="x" * 12, party_id=party.id, roles=[role],
                                           now=now)
    finally:
        await db.dispose()


async def _rows(url: str) -> tuple[list[str], list[tuple[str, str]], int]:
    db = Database.from_url(url)
    try:
        async with db.engine.connect() as conn:
            hashes = (await conn.execute(sa.select(
                AuditorToken.__table__.c.token_hash))).scalars().all()  # type: ignore[attr-defined]
            kinds = (await conn.execute(sa.select(ENTRY.c.kind, ENTRY.c.payload)
                                        .order_by(ENTRY.c.idx))).all()
            keys = (await conn.execute(sa.select(sa.func.count()).select_from(
                SigningKeyRow.__table__))).scalar_one()  # type: ignore[attr-defined]
        return list(hashes), [(k, p) for k, p in kinds], int(keys)
    finally:
        await db.dispose()


def test_auditor_tokens_and_key_rotations_are_logged(
        sqlite_factory: SqliteFactory, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_factory.create()
    asyncio.run(_accounts(url))
    instance = ["--data-dir", str(data_dir), "--database-url", url]
    assert main(["auditor-token", "create", *instance, "--account", "cnil", "--json",
                 "--actor", "cli:olga"]) == 0
    token = json.loads(capsys.readouterr().out)["auditor_token"]
    assert token.startswith("pas_aud_")
    assert main(["auditor-token", "create", *instance, "--account", "bob"]) == 1
    assert "does not hold the auditor role" in capsys.readouterr().err
    assert main(["keys", "rotate", *instance]) == 0
    assert main(["keys", "rotate", *instance]) == 0
    assert "new signing key" in capsys.readouterr().out

    hashes, entries, keys = asyncio.run(_rows(url))
    assert hashes == [digest(token)]  # only the hash is kept
    assert token not in "".join(p for _k, p in entries)
    assert [k for k, _p in entries] == ["admin", "key.rotated", "key.rotated"]
    minted = json.loads(entries[0][1])
    assert (minted["action"], minted["actor"], minted["target"]) == (
        "auditor-token.create", "cli:olga", "cnil")
    assert keys == 2
    sqlite_factory.drop(url)


async def test_admin_api_state_changes_are_logged(world: World) -> None:
    admin = new_secret(ADMIN_PREFIX)
    data_dir = world.client.app[settings_key].data_dir
    (data_dir / ADMIN_TOKENS_FILE).write_text(digest(admin) + "\n")
    headers = {"Authorization": f"Bearer {admin}"}
    client_id, _ = world.credentials["coach"]
    async with world.client.post(f"/admin/recipients/{client_id}/state", json={
            "state": "suspended"}, headers=headers) as response:
        assert response.status == 200
    async with world.db.engine.connect() as conn:
        [payload] = (await conn.execute(sa.select(ENTRY.c.payload)
                                        .where(ENTRY.c.kind == "admin"))).scalars().all()
    logged = json.loads(payload)
    assert logged["action"] == "recipient.state"
    assert logged["target"] == client_id
    assert logged["details"] == {"from": "active", "to": "suspended"}
    assert logged["actor"] == "admin-token:" + digest(admin)[:12]

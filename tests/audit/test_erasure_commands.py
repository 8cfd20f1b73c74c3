"""``passerelle households erase``, ``erasures export`` and ``reapply-erasures``: an erasure is
logged and journalled; a restore from a backup taken before it brings the data back, and the
journal exported before the restore erases it again (docs/operations.md §6 step 6, §8)."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import select

from consent.clock import SystemClock
from consent.evidence.log_reader import ENTRY
from consent.evidence.records import Authentication, Notice
from consent.models import Account, AccountRole, ErasureRecord, Party
from consent.services import ConsentService
from consent.services import registry as reg
from consent.services.erasure import tombstone
from consent.storage import Database
from proxy.cli import main
from tests.support.databases import SqliteFactory
from tests.support.world import build_world


async def _household(url: str) -> tuple[str, str]:
    """A household with an account and an active consent; (household id, account id)."""
    db = Database.from_url(url)
    clock = SystemClock()
    try:
        world = await build_world(db, clock)
        async with db.session() as session:
            account = await reg.add_account(session, tenant_id="default",
                                             username="alice.martin", password="x" * 12,
                                             party_id=world.alice.id,
                                             roles=[AccountRole.HOUSEHOLD], now=clock.now())
        me = replace(world.as_alice, account_id=account.id,
                     authentication=Authentication("password", account.id, clock.now()),
                     notice=Notice("test-terms", "ab" * 32, "en"))
        await ConsentService(db, clock).give(me, world.draft(clock.now()))
        return world.alice.id, account.id
    finally:
        await db.dispose()


async def _state(url: str, account_id: str) -> tuple[str, str, int, list[str]]:
    """(login name, party name, journal rows, admin actions logged)."""
    db = Database.from_url(url)
    try:
        async with db.session() as session:
            account = await session.get(Account, account_id)
            assert account is not None
            party = await session.get(Party, account.party_id)
            assert party is not None
            journal = (await session.exec(select(ErasureRecord))).all()
        async with db.engine.connect() as conn:
            admin = (await conn.execute(sa.select(ENTRY.c.payload).where(
                ENTRY.c.kind == "admin"))).scalars().all()
        return (account.username, party.name, len(journal),
                [json.loads(p)["action"] for p in admin])
    finally:
        await db.dispose()


def test_an_erasure_survives_a_restore_through_the_exported_journal(
        sqlite_factory: SqliteFactory, data_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_factory.create()
    household, account = asyncio.run(_household(url))
    database = Path(make_url(url).database or "")
    backup = tmp_path / "backup.db"
    shutil.copyfile(database, backup)  # the nightly backup, taken before the request
    instance = ["--data-dir", str(data_dir), "--database-url", url]

    assert main(["households", "erase", household, *instance, "--actor", "olga",
                 "--reason", "request R-117"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["changed"], len(done["consents_ended"]), done["accounts_erased"]) == (
        True, 1, [account])
    assert asyncio.run(_state(url, account)) == (tombstone(account), "(erased)", 1,
                                                 ["household.erased"])
    journal = tmp_path / "journal.json"
    assert main(["households", "erasures", "export", *instance, "-o", str(journal)]) == 0
    [entry] = json.loads(journal.read_text())["erasures"]
    assert (entry["household_id"], entry["actor"], entry["reason"]) == (
        household, "cli:olga", "request R-117")
    assert "alice" not in journal.read_text()

    shutil.copyfile(backup, database)  # the restore rolls the erasure back...
    assert asyncio.run(_state(url, account))[:3] == ("alice.martin", "Alice", 0)
    capsys.readouterr()
    assert main(["households", "reapply-erasures", str(journal), *instance]) == 0
    [again] = json.loads(capsys.readouterr().out)["reapplied"]
    assert again["household_id"] == household
    username, name, journalled, _ = asyncio.run(_state(url, account))
    assert (username, name, journalled) == (tombstone(account), "(erased)", 1)

    # Both commands are harmless when run again.
    assert main(["households", "reapply-erasures", str(journal), *instance]) == 0
    assert json.loads(capsys.readouterr().out)["reapplied"] == []
    assert main(["households", "erase", household, *instance]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False
    assert main(["households", "erase", "no-such-household", *instance]) == 2
    sqlite_factory.drop(url)

"""Replicas signing while another rotates the key or opens the first one (PostgreSQL).

A record signed with a key the published history says was already closed at its ``signed_at``
fails offline verification for ever: a false integrity breach. Each test pins one unlucky
interleaving with a hook on a replica's store (test-only subclasses below) and checks what an
auditor's verifier says, or that the replica can sign at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.clock import FrozenClock
from consent.evidence.keys import PublicKeyInfo
from consent.evidence.keystore_db import DatabaseKeyStore
from consent.evidence.secrets import Keyring
from consent.evidence.signing import SignatureProblem, sign_record, verify_envelope
from consent.storage.database import Database

pytestmark = pytest.mark.postgres

Hook = Callable[[], Awaitable[None]]


class Hooked(DatabaseKeyStore):
    """A replica's store that runs ``hook`` once at a chosen step (test-only)."""

    hook: Hook | None = None

    async def _run_hook(self) -> None:
        hook, self.hook = self.hook, None
        if hook is not None:
            await hook()


class RotatesSlowly(Hooked):
    """Runs its hook inside a rotation's transaction, after closing the old key."""

    async def _insert(self, conn: AsyncConnection, at: datetime) -> PublicKeyInfo:
        key = await super()._insert(conn, at)
        await self._run_hook()
        return key


class UnsealsSlowly(Hooked):
    """Runs its hook while it signs, after it chose the key (when it unseals that key)."""

    async def _unseal(self, conn: AsyncConnection, kid: str) -> Ed25519PrivateKey:
        await self._run_hook()
        return await super()._unseal(conn, kid)


class OpensLate(Hooked):
    """Runs its hook after finding no key, before opening the first one."""

    async def _open_first(self, at: datetime) -> None:
        await self._run_hook()
        await super()._open_first(at)


async def done_or_waiting(task: asyncio.Task[Any], db: Database) -> None:
    """Return once ``task`` has finished or some session waits for a lock."""
    for _ in range(500):
        if task.done():
            return
        async with db.engine.connect() as conn:
            if (await conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"))).scalar_one():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("neither finished nor waiting")


def replicas(pg: Database) -> tuple[Database, Database]:
    url = pg.engine.url.render_as_string(hide_password=False)
    return Database.from_url(url), Database.from_url(url)


async def test_a_record_signed_while_a_rotation_commits_still_verifies(
        pg: Database, clock: FrozenClock) -> None:
    """A's rotation has closed the old key but not committed; B signs a record just after
    A's instant. B used to read the old key as open and sign with it."""
    keyring = Keyring([bytes(range(32))])
    db_a, db_b = replicas(pg)
    try:
        a = RotatesSlowly(db_a, keyring, clock=clock)
        b = DatabaseKeyStore(db_b, keyring, clock=clock)
        await a.sign(b"first", at=clock.now())  # the first key, K1
        clock.advance(timedelta(hours=1))
        at_rotation = clock.now()
        at_record = at_rotation + timedelta(milliseconds=1)
        record = asyncio.create_task(
            sign_record(b, {"kind": "consent.withdrawn", "consent": "c1"}, at_record))

        async def b_signs_meanwhile() -> None:
            await done_or_waiting(record, db_a)

        a.hook = b_signs_meanwhile
        await a.rotate(at=at_rotation)
        signed = await record
        published = await a.history()
    finally:
        await db_a.dispose()
        await db_b.dispose()

    try:  # what an auditor's verifier does with the record and the published keys
        verify_envelope(signed.to_json(), published)
    except SignatureProblem as problem:
        pytest.fail(f"a record signed during a rotation fails verification: {problem}")


async def test_a_rotation_asked_for_earlier_opens_after_the_records_signed_meanwhile(
        pg: Database, clock: FrozenClock) -> None:
    """B has chosen K1 for a record; A's rotation, asked for at an instant before that
    record's, must not close K1 before it."""
    keyring = Keyring([bytes(range(32))])
    db_a, db_b = replicas(pg)
    try:
        a = DatabaseKeyStore(db_a, keyring, clock=clock)
        b = UnsealsSlowly(db_b, keyring, clock=clock)
        await a.sign(b"first", at=clock.now())
        clock.advance(timedelta(hours=1))
        asked = clock.now()  # the operator's rotation: its instant taken first
        clock.advance(timedelta(milliseconds=1))
        at_record = clock.now()
        rotations = []

        async def a_rotates_meanwhile() -> None:
            rotations.append(asyncio.create_task(a.rotate(at=asked)))
            await done_or_waiting(rotations[0], db_b)
            clock.advance(timedelta(milliseconds=1))  # time passes while A waits

        b.hook = a_rotates_meanwhile
        signed = await sign_record(b, {"kind": "consent.granted", "consent": "c2"}, at_record)
        new_key = await rotations[0]
        published = await a.history()
    finally:
        await db_a.dispose()
        await db_b.dispose()

    assert new_key.not_before > at_record
    verify_envelope(signed.to_json(), published)


async def test_two_replicas_opening_the_first_key_at_once_can_both_sign(
        pg: Database, clock: FrozenClock) -> None:
    """Fresh instance, two replicas starting together: B finds no key; A, whose instant is a
    millisecond later, opens the first one before B does. B used to ignore its own failed
    insert and find no key valid at its instant ("No signing key is valid"), and refuse to
    start telling the operator to give it the instance's keys."""
    keyring = Keyring([bytes(range(32))])
    db_a, db_b = replicas(pg)
    try:
        a = DatabaseKeyStore(db_a, keyring, clock=clock)
        b = OpensLate(db_b, keyring, clock=clock)
        at_b = clock.now()

        async def a_opens_first() -> None:
            await a.sign(b"A's startup checkpoint", at=at_b + timedelta(milliseconds=1))

        b.hook = a_opens_first
        signature = await b.sign(b"B's startup checkpoint", at=at_b)
        history = await a.history()
    finally:
        await db_a.dispose()
        await db_b.dispose()

    assert len(history) == 1
    assert signature.kid == history.keys[0].kid

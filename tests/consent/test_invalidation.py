"""The invalidation bus (one contract, both implementations) and the database change feed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.access_events import ACCESS_EVENT_TABLE
from consent.clock import FrozenClock
from consent.invalidation import ALL, TOKENS, InvalidationBus, LocalBus
from consent.models import OAuthToken, PartyKind
from consent.models.base import new_id
from consent.models.oauth import TokenKind
from consent.services import registry
from consent.storage import Database
from consent.storage.change_feed import statement_topics, topics_for
from consent.storage.pg_bus import APPLICATION_NAME, PostgresBus
from consent.tokens import digest, revoke_token
from tests.support.databases import PostgresFactory


async def eventually(condition: object, within: float = 1.0) -> bool:
    """Poll ``condition()`` (never sleeps longer than ``within`` in all)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.01)
    return bool(condition())  # type: ignore[operator]


@pytest.fixture(params=["local", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[InvalidationBus]:
    """A started bus of each implementation."""
    if request.param == "local":
        local = LocalBus()
        await local.start()
        yield local
        await local.close()
        return
    factory: PostgresFactory = request.getfixturevalue("postgres_factory")
    url = factory.create()
    db = Database.from_url(url)
    made = db.invalidation_bus()
    assert isinstance(made, PostgresBus)
    await made.start()
    yield made
    await made.close()
    await db.dispose()
    factory.drop(url)


# ---- the contract every bus passes -------------------------------------------------------

async def test_deliver_reaches_every_subscriber_synchronously(bus: InvalidationBus) -> None:
    heard: list[str] = []
    bus.subscribe(heard.append)
    bus.subscribe(lambda topic: heard.append("second " + topic))
    bus.deliver(TOKENS)
    assert heard[-2:] == [TOKENS, "second " + TOKENS]


async def test_publish_is_heard_locally_before_it_returns(bus: InvalidationBus) -> None:
    heard: list[str] = []
    bus.subscribe(heard.append)
    await bus.publish("facts")
    assert "facts" in heard


async def test_a_failing_subscriber_does_not_silence_the_others(bus: InvalidationBus) -> None:
    heard: list[str] = []

    def broken(_topic: str) -> None:
        raise RuntimeError("bug")

    bus.subscribe(broken)
    bus.subscribe(heard.append)
    bus.deliver(ALL)
    assert heard == [ALL]


async def test_healthy_while_started_only(bus: InvalidationBus) -> None:
    assert bus.healthy
    await bus.close()
    assert not bus.healthy


# ---- what the change feed calls an invalidating write --------------------------------------

def test_topics_of_statements() -> None:
    assert statement_topics("SELECT * FROM consent") == frozenset()
    assert statement_topics('UPDATE "consent" SET state=?') == {ALL}
    assert statement_topics("  delete from occupancy where id = $1") == {ALL}
    assert statement_topics("INSERT INTO access_event (id) VALUES (?)") == frozenset()
    assert topics_for("oauth_token", "insert") == frozenset()
    assert topics_for("oauth_token", "update") == {TOKENS}
    assert topics_for("a_table_added_later", "insert") == {ALL}  # secure by default


async def _token_row(db: Database, clock: FrozenClock) -> str:
    async with db.session() as session:
        recipient, _ = await registry.register_recipient(session, registry.RecipientDraft(
            name="app", website="https://app.example", contact_email="dpo@app.example",
            purposes=["energy_monitoring"], legal_basis="consent", data_role="controller",
            allowed_datasets=["daily_consumption"],
            redirect_uris=["https://app.example/cb"]), tenant_id="default", now=clock.now())
    row = OAuthToken(tenant_id="default", kind=TokenKind.ACCESS, token_hash=digest(new_id()),
                     family_id=new_id(), recipient_id=recipient.id, grant_type="x", scope="",
                     expires_at=clock.now() + timedelta(hours=1), created_at=clock.now())
    async with db.session() as session:
        session.add(row)
    return row.id


async def _write_then_abort(db: Database,
                            write: Callable[[AsyncSession], Awaitable[object]]) -> None:
    async with db.session() as session:
        await write(session)
        raise RuntimeError("abort")


async def test_a_commit_is_delivered_before_the_session_block_ends(
        db: Database, clock: FrozenClock) -> None:
    token_id = await _token_row(db, clock)
    heard: list[str] = []
    db.changes.subscribe(heard.append)
    async with db.session() as session:
        await revoke_token(session, token_id, clock.now())
        assert heard == []  # not before the commit: a reader could re-cache the old row
    assert heard == [TOKENS]


async def test_a_rollback_delivers_nothing(db: Database, clock: FrozenClock) -> None:
    token_id = await _token_row(db, clock)
    heard: list[str] = []
    db.changes.subscribe(heard.append)
    with pytest.raises(RuntimeError, match="abort"):
        await _write_then_abort(db, lambda s: revoke_token(s, token_id, clock.now()))
    assert heard == []


async def test_writes_no_cache_reads_deliver_nothing(db: Database, clock: FrozenClock) -> None:
    heard: list[str] = []
    db.changes.subscribe(heard.append)
    await _token_row(db, clock)  # a recipient (ALL) then a new token (nothing)
    assert heard == [ALL]
    heard.clear()
    async with db.engine.begin() as conn:
        await conn.execute(sa.delete(ACCESS_EVENT_TABLE))
    assert heard == []


@pytest.mark.postgres
async def test_a_commit_on_one_replica_reaches_the_other_within_a_second(
        postgres_factory: PostgresFactory, clock: FrozenClock) -> None:
    url = postgres_factory.create()
    writer, reader = Database.from_url(url), Database.from_url(url)
    delays: list[float] = []
    bus = reader.invalidation_bus(delay_observer=delays.append)
    await bus.start()
    heard: list[str] = []
    bus.subscribe(heard.append)
    try:
        async with writer.session() as session:
            await registry.add_party(session, tenant_id="default", kind=PartyKind.HOUSEHOLD,
                                     name="H", now=clock.now())
            await asyncio.sleep(0.2)
            assert ALL not in heard  # not before the commit
        assert await eventually(lambda: ALL in heard)
        assert delays  # observed for the propagation histogram
        assert 0 <= delays[0] < 1.0
        heard.clear()
        with pytest.raises(RuntimeError, match="abort"):
            await _write_then_abort(writer, lambda s: registry.add_party(
                s, tenant_id="default", kind=PartyKind.HOUSEHOLD, name="H2", now=clock.now()))
        await asyncio.sleep(0.2)
        assert heard == []  # a rolled-back write tells nobody
    finally:
        await bus.close()
        await writer.dispose()
        await reader.dispose()
        postgres_factory.drop(url)


@pytest.mark.postgres
async def test_a_lost_listener_is_unhealthy_then_reconnects_and_drops_everything(
        postgres_factory: PostgresFactory) -> None:
    url = postgres_factory.create()
    db = Database.from_url(url)
    bus = db.invalidation_bus()
    assert isinstance(bus, PostgresBus)
    bus.retry = 0.05
    await bus.start()
    heard: list[str] = []
    bus.subscribe(heard.append)
    try:
        async with db.engine.connect() as conn:  # an operator kills the listener's session
            await conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name").bindparams(name=APPLICATION_NAME))
        assert await eventually(lambda: not bus.healthy)
        assert await eventually(lambda: bus.healthy and ALL in heard, within=5.0)
    finally:
        await bus.close()
        await db.dispose()
        postgres_factory.drop(url)


async def _revoke_on_a_dying_connection(db: Database, token_id: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(sa.update(OAuthToken.__table__)  # type: ignore[attr-defined]
                           .where(sa.column("id") == token_id).values(scope="x"))
        await conn.invalidate()


async def test_a_transaction_cut_off_mid_way_delivers_nothing_and_breaks_nothing(
        db: Database, clock: FrozenClock) -> None:
    token_id = await _token_row(db, clock)
    heard: list[str] = []
    db.changes.subscribe(heard.append)

    with pytest.raises(sa.exc.SQLAlchemyError):  # the connection dies inside the transaction
        await _revoke_on_a_dying_connection(db, token_id)
    assert heard == []
    async with db.session() as session:  # the pool and the feed still work
        await revoke_token(session, token_id, clock.now())
    assert heard == [TOKENS]


def test_tables_written_on_every_request_invalidate_nothing() -> None:
    for table in ("access_event", "evidence_log_entry", "evidence_log_node", "rate_bucket",
                  "quota_slot"):
        assert topics_for(table, "update") == frozenset(), table

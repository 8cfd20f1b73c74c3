"""Migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from consent.clock import FrozenClock
from consent.models import DEFAULT_TENANT, Occupancy
from consent.storage import Database, migrate
from tests.support.databases import DatabaseFactory
from tests.support.world import ALICE_PRM, build_world


async def test_migrate_from_empty_matches_models_and_is_idempotent(
    database_factory: DatabaseFactory,
) -> None:
    url = database_factory.create(migrated=False)
    db = Database.from_url(url)
    try:
        assert await db.migrate() == migrate.head_revision()
        assert await db.migrate() == migrate.head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(migrate.differences) == []
            tenants = (await conn.execute(text("SELECT id FROM tenant"))).scalars().all()
        assert tenants == [DEFAULT_TENANT]
    finally:
        await db.dispose()
        database_factory.drop(url)


@pytest.fixture
async def scratch_db(database_factory: DatabaseFactory) -> AsyncIterator[Database]:
    """A migrated database that nobody else will reuse (these tests break its schema)."""
    url = database_factory.create(fresh=True)
    db = Database.from_url(url)
    yield db
    await db.dispose()
    database_factory.drop(url)


async def test_the_comparison_sees_a_missing_column(scratch_db: Database) -> None:
    # Guard against a vacuous comparison: break the schema and expect a difference.
    async with scratch_db.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE party DROP COLUMN external_ref"))
        diff = await conn.run_sync(migrate.differences)
    assert any(d[0] == "add_column" and d[3].name == "external_ref" for d in diff)


async def test_downgrade_to_base_leaves_no_table(scratch_db: Database) -> None:
    def downgrade(connection: Connection) -> None:
        command.downgrade(migrate.alembic_config(connection), "base")

    async with scratch_db.engine.begin() as conn:
        await conn.run_sync(downgrade)
    async with scratch_db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert set(tables) <= {"alembic_version"}


async def test_a_recycled_database_comes_back_empty(database_factory: DatabaseFactory) -> None:
    for _ in range(2):
        url = database_factory.create()
        db = Database.from_url(url)
        try:
            async with db.engine.begin() as conn:
                parties = (await conn.execute(text("SELECT count(*) FROM party"))).scalar()
                assert parties == 0
                await conn.execute(text(
                    "INSERT INTO party (id, tenant_id, kind, name, created_at) VALUES "
                    "('p1', 'default', 'household', 'x', CURRENT_TIMESTAMP)"))
        finally:
            await db.dispose()
            database_factory.drop(url)


async def test_the_open_occupancy_index_names_points_already_doubled(
        scratch_db: Database, clock: FrozenClock) -> None:
    # Revision 0013: two households moved into one point at once before the point lock; the
    # upgrade names the point rather than choosing an occupant.
    async with scratch_db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(migrate.alembic_config(c),
                                                        "0012_expiry_indexes"))
    world = await build_world(scratch_db, clock)
    async with scratch_db.session() as session:
        session.add(Occupancy(tenant_id=DEFAULT_TENANT, point_id=world.points[ALICE_PRM].id,
                              household_id=world.bob.id, starts_at=clock.now(), ends_at=None,
                              created_at=clock.now()))
    with pytest.raises(RuntimeError, match=f"1 point.*default/{ALICE_PRM}"):
        await scratch_db.migrate()

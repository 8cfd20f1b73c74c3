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
    # upgrade names the point rather than choosing an occupant. The world is written with
    # today's models first (their tables are the head's), then the schema goes back to 0012.
    world = await build_world(scratch_db, clock)
    async with scratch_db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(migrate.alembic_config(c),
                                                        "0012_expiry_indexes"))
    async with scratch_db.session() as session:
        session.add(Occupancy(tenant_id=DEFAULT_TENANT, point_id=world.points[ALICE_PRM].id,
                              household_id=world.bob.id, starts_at=clock.now(), ends_at=None,
                              created_at=clock.now()))
    with pytest.raises(RuntimeError, match=f"1 point.*default/{ALICE_PRM}"):
        await scratch_db.migrate()


async def test_suppliers_registered_before_codes_keep_an_unambiguous_one(
        scratch_db: Database, clock: FrozenClock) -> None:
    # Revision 0016: contracts were matched on the organisation's external_ref or the app's
    # name; each supplier gets the one a report could only have meant it by, else none.
    async with scratch_db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(migrate.alembic_config(c),
                                                        "0015_erasure_journal"))
        suppliers = [("volt", "Volt", "5499000000007", True), ("watt", "Watt", None, True),
                     ("twin-a", "Twin", None, True), ("twin-b", "Twin", None, True),
                     ("dash", "Dash", None, False)]
        for key, name, ref, supplier in suppliers:
            await conn.execute(text(
                "INSERT INTO party (id, tenant_id, kind, name, external_ref, created_at) VALUES"
                " (:id, 'default', 'recipient', :name, :ref, CURRENT_TIMESTAMP)"),
                {"id": "p-" + key, "name": name, "ref": ref})
            await conn.execute(text(
                "INSERT INTO recipient (id, tenant_id, party_id, name, website, contact_email,"
                " purposes, legal_basis, data_role, is_supplier, allowed_datasets,"
                " redirect_uris, client_id, state, created_at, updated_at) VALUES (:id,"
                " 'default', :party, :name, 'https://s.example', 'dpo@s.example', '[]',"
                " 'contract', 'controller', :supplier, '[]', '[]', :client, 'active',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"id": "r-" + key, "party": "p-" + key, "name": name, "supplier": supplier,
                 "client": "pc_" + key})
    assert await scratch_db.migrate() == migrate.head_revision()
    async with scratch_db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, supplier_code FROM recipient"))).all()
    codes = {row.id: row.supplier_code for row in rows}
    assert codes == {"r-volt": "5499000000007", "r-watt": "Watt", "r-twin-a": None,
                     "r-twin-b": None, "r-dash": None}

"""Migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from consent.models import DEFAULT_TENANT
from consent.storage import Database, migrate
from tests.support.databases import DatabaseFactory


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


async def test_the_comparison_sees_a_missing_column(db: Database) -> None:
    # Guard against a vacuous comparison: break the schema and expect a difference.
    async with db.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE party DROP COLUMN external_ref"))
        diff = await conn.run_sync(migrate.differences)
    assert any(d[0] == "add_column" and d[3].name == "external_ref" for d in diff)


async def test_downgrade_to_base_leaves_no_table(db: Database) -> None:
    def downgrade(connection: Connection) -> None:
        from alembic import command

        command.downgrade(migrate.alembic_config(connection), "base")

    async with db.engine.begin() as conn:
        await conn.run_sync(downgrade)
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert set(tables) <= {"alembic_version"}

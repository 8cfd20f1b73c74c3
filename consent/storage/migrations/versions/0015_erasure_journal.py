"""The erasure journal (GDPR art. 17, docs/operations.md §8): one row per erased household.

``erasure_journal`` (``id``, ``tenant_id``, ``household_id``, ``erased_at``, ``actor``,
``reason``; unique per tenant and household). ``household_id`` has no foreign key: a journal
re-imported into a database restored from an older backup may name a household the backup
predates (consent/models/erasures.py).

Revision ID: 0015_erasure_journal
Revises: 0014_session_identity
Create Date: 2026-12-08

Written after the model and compared with it by the migrations test on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_erasure_journal'
down_revision: str | None = '0014_session_identity'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('erasure_journal',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('household_id', sa.String(length=36), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=150), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'],
                            name=op.f('fk_erasure_journal_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_journal')),
    sa.UniqueConstraint('tenant_id', 'household_id',
                        name=op.f('uq_erasure_journal_tenant_id_household_id'))
    )
    op.create_index(op.f('ix_erasure_journal_tenant_id'), 'erasure_journal', ['tenant_id'])


def downgrade() -> None:
    op.drop_table('erasure_journal')  # drops its index with it

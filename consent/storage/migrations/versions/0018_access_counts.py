"""R17's weekly and monthly views of usage traces: the ``access_count`` table
(consent/access_counts.py), filled and emptied by the retention sweep (consent/retention_sweep.py).

Nothing is copied from ``access_event`` here: the first sweep after the upgrade folds the
rows past 31 days into it, in batches, each its own short transaction.

Revision ID: 0018_access_counts
Revises: 0017_consent_view
Create Date: 2026-12-07

Written by autogenerate, then reviewed: index creation flattened; the migrations test compares
it with the model on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_access_counts'
down_revision: str | None = '0017_consent_view'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_count',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('api', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('recipient_id', sa.String(length=64), nullable=True),
    sa.Column('consent_id', sa.String(length=64), nullable=True),
    sa.Column('mandate_id', sa.String(length=64), nullable=True),
    sa.Column('point', sa.String(length=64), nullable=True),
    sa.Column('dataset', sa.String(length=64), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_access_count_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_count'))
    )
    op.create_index('ix_access_count_consent_start', 'access_count', ['consent_id', 'period_start'])
    op.create_index('ix_access_count_grain_end', 'access_count', ['grain', 'period_end'])
    op.create_index('ix_access_count_point_start', 'access_count', ['point', 'period_start'])
    op.create_index(op.f('ix_access_count_tenant_id'), 'access_count', ['tenant_id'])


def downgrade() -> None:
    op.drop_table('access_count')  # drops its indexes with it

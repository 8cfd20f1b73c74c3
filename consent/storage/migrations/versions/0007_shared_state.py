"""Shared state of replicas: login-throttle attempts, rate buckets, quota slots, upstream tokens;
and consent points indexed by point (the consent check at a million consents).

Revision ID: 0007_shared_state
Revises: 0006_portal
Create Date: 2026-11-22

Written by autogenerate, then reviewed: index creation flattened.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_shared_state'
down_revision: str | None = '0006_portal'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quota_slot',
    sa.Column('quota', sa.String(length=160), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('last_start', sa.Float(precision=53), nullable=False),
    sa.PrimaryKeyConstraint('quota', 'slot', name=op.f('pk_quota_slot'))
    )
    op.create_index('ix_quota_slot_quota_last_start', 'quota_slot', ['quota', 'last_start'])
    op.create_table('rate_bucket',
    sa.Column('bucket', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('tokens', sa.Float(precision=53), nullable=False),
    sa.Column('updated', sa.Float(precision=53), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'key', name=op.f('pk_rate_bucket'))
    )
    op.create_table('throttle_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counter', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_throttle_attempt'))
    )
    op.create_index('ix_throttle_attempt_counter_key_at', 'throttle_attempt',
                    ['counter', 'key', 'at'])
    op.create_index('ix_consent_point_point_id', 'consent_point', ['point_id'])
    op.create_table('upstream_token',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_upstream_token'))
    )


def downgrade() -> None:
    op.drop_table('upstream_token')
    op.drop_index('ix_consent_point_point_id', table_name='consent_point')
    op.drop_index('ix_throttle_attempt_counter_key_at', table_name='throttle_attempt')
    op.drop_table('throttle_attempt')
    op.drop_table('rate_bucket')
    op.drop_index('ix_quota_slot_quota_last_start', table_name='quota_slot')
    op.drop_table('quota_slot')

"""Proxy: the access-event table (one row per data request, R16) and the sealed day cache.

Revision ID: 0004_proxy_access_events
Revises: 0003_evidence
Create Date: 2026-11-22

Written by autogenerate, then reviewed: index creation flattened.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_proxy_access_events'
down_revision: str | None = '0003_evidence'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('upstream_cache_day',
    sa.Column('point_key', sa.String(length=64), nullable=False),
    sa.Column('dataset', sa.String(length=64), nullable=False),
    sa.Column('resolution', sa.String(length=8), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('point_key', 'dataset', 'resolution', 'day', name=op.f('pk_upstream_cache_day'))
    )
    op.create_table('access_event',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('api', sa.String(length=32), nullable=False),
    sa.Column('route', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('recipient_id', sa.String(length=64), nullable=True),
    sa.Column('consent_id', sa.String(length=64), nullable=True),
    sa.Column('point', sa.String(length=64), nullable=True),
    sa.Column('dataset', sa.String(length=64), nullable=True),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.String(length=8), nullable=True),
    sa.Column('rule', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('values', sa.Integer(), nullable=False),
    sa.Column('upstream_calls', sa.Integer(), nullable=False),
    sa.Column('cache_days', sa.Integer(), nullable=False),
    sa.Column('upstream', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_access_event_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_event'))
    )
    op.create_index('ix_access_event_at', 'access_event', ['at'])
    op.create_index('ix_access_event_consent_at', 'access_event', ['consent_id', 'at'])
    op.create_index('ix_access_event_recipient_at', 'access_event', ['recipient_id', 'at'])
    op.create_index(op.f('ix_access_event_tenant_id'), 'access_event', ['tenant_id'])


def downgrade() -> None:
    op.drop_table('access_event')  # drops its indexes with it
    op.drop_table('upstream_cache_day')

"""Auditor bearer tokens for the audit API (issue 6: read-only, scoped auditors).

Revision ID: 0008_auditor_tokens
Revises: 0007_shared_state
Create Date: 2026-11-23

Written by hand after the model (consent/auditors.py); the migrations test compares it with
the model on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_auditor_tokens'
down_revision: str | None = '0007_shared_state'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('auditor_token',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('tenant_scope', sa.String(length=64), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_auditor_token_account_id_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_auditor_token_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auditor_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_auditor_token_token_hash'))
    )
    op.create_index(op.f('ix_auditor_token_account_id'), 'auditor_token', ['account_id'])
    op.create_index(op.f('ix_auditor_token_tenant_id'), 'auditor_token', ['tenant_id'])


def downgrade() -> None:
    op.drop_table('auditor_token')  # drops its indexes with it

"""Household portal: external OpenID identities, password reset codes, point claims (R15) and
meter user-port requests (R20); how each browser session signed in.

Revision ID: 0006_portal
Revises: 0005_rules
Create Date: 2026-11-22

Written by autogenerate, then reviewed: index creation flattened; ``auth_method`` of existing
sessions defaults to ``password`` (the only way to sign in before this revision).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_portal'
down_revision: str | None = '0005_rules'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('external_identity',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('proof', sa.String(length=32), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_external_identity_account_id_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_external_identity_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_identity')),
    sa.UniqueConstraint('tenant_id', 'issuer', 'subject', name=op.f('uq_external_identity_tenant_id_issuer_subject'))
    )
    op.create_index(op.f('ix_external_identity_account_id'), 'external_identity', ['account_id'])
    op.create_index(op.f('ix_external_identity_tenant_id'), 'external_identity', ['tenant_id'])

    op.create_table('meter_port_request',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('household_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('point_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('upstream_request_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_meter_port_request_account_id_account')),
    sa.ForeignKeyConstraint(['household_id'], ['party.id'], name=op.f('fk_meter_port_request_household_id_party')),
    sa.ForeignKeyConstraint(['point_id'], ['metering_point.id'], name=op.f('fk_meter_port_request_point_id_metering_point')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_meter_port_request_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_port_request'))
    )
    op.create_index(op.f('ix_meter_port_request_household_id'), 'meter_port_request', ['household_id'])
    op.create_index(op.f('ix_meter_port_request_point_id'), 'meter_port_request', ['point_id'])
    op.create_index(op.f('ix_meter_port_request_tenant_id'), 'meter_port_request', ['tenant_id'])

    op.create_table('password_reset',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_password_reset_account_id_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_password_reset_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_password_reset_code_hash'))
    )
    op.create_index(op.f('ix_password_reset_account_id'), 'password_reset', ['account_id'])
    op.create_index(op.f('ix_password_reset_tenant_id'), 'password_reset', ['tenant_id'])

    op.create_table('point_claim',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('household_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('point', sa.String(length=64), nullable=False),
    sa.Column('point_id', sa.String(length=36), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('dso_customer', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_point_claim_account_id_account')),
    sa.ForeignKeyConstraint(['household_id'], ['party.id'], name=op.f('fk_point_claim_household_id_party')),
    sa.ForeignKeyConstraint(['point_id'], ['metering_point.id'], name=op.f('fk_point_claim_point_id_metering_point')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_point_claim_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_claim'))
    )
    op.create_index(op.f('ix_point_claim_household_id'), 'point_claim', ['household_id'])
    op.create_index(op.f('ix_point_claim_point_id'), 'point_claim', ['point_id'])
    op.create_index(op.f('ix_point_claim_tenant_id'), 'point_claim', ['tenant_id'])

    with op.batch_alter_table('browser_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_method', sa.String(length=32), nullable=False,
                                      server_default='password'))


def downgrade() -> None:
    with op.batch_alter_table('browser_session', schema=None) as batch_op:
        batch_op.drop_column('auth_method')
    # Dropping a table drops its indexes with it.
    for table in ('point_claim', 'password_reset', 'meter_port_request', 'external_identity'):
        op.drop_table(table)

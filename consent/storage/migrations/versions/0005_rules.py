"""Market rules (issue 8): supply contracts (R13), communities (R4), staff tokens, privileged
requests and the staff journal (R19), and the mandate an access was served under.

Revision ID: 0005_rules
Revises: 0004_proxy_access_events
Create Date: 2026-11-22

Written by autogenerate, then reviewed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_rules'
down_revision: str | None = '0004_proxy_access_events'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('staff_action',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('party_id', sa.String(length=36), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_staff_action_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_action'))
    )
    with op.batch_alter_table('staff_action', schema=None) as batch_op:
        batch_op.create_index('ix_staff_action_tenant_at', ['tenant_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_action_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('community',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organiser_id', sa.String(length=36), nullable=False),
    sa.Column('min_members', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organiser_id'], ['recipient.id'], name=op.f('fk_community_organiser_id_recipient')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_community_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community'))
    )
    with op.batch_alter_table('community', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_organiser_id'), ['organiser_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('privileged_request',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('requested_by', sa.String(length=36), nullable=False),
    sa.Column('requested_party', sa.String(length=36), nullable=False),
    sa.Column('decided_by', sa.String(length=36), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['account.id'], name=op.f('fk_privileged_request_decided_by_account')),
    sa.ForeignKeyConstraint(['requested_by'], ['account.id'], name=op.f('fk_privileged_request_requested_by_account')),
    sa.ForeignKeyConstraint(['requested_party'], ['party.id'], name=op.f('fk_privileged_request_requested_party_party')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_privileged_request_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privileged_request'))
    )
    with op.batch_alter_table('privileged_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privileged_request_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_privileged_request_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('staff_token',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_staff_token_account_id_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_staff_token_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_token_token_hash'))
    )
    with op.batch_alter_table('staff_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_token_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_token_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('supply_contract',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('point_id', sa.String(length=36), nullable=False),
    sa.Column('supplier_id', sa.String(length=36), nullable=False),
    sa.Column('supplier_code', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_by', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['point_id'], ['metering_point.id'], name=op.f('fk_supply_contract_point_id_metering_point')),
    sa.ForeignKeyConstraint(['supplier_id'], ['recipient.id'], name=op.f('fk_supply_contract_supplier_id_recipient')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_supply_contract_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supply_contract'))
    )
    with op.batch_alter_table('supply_contract', schema=None) as batch_op:
        batch_op.create_index('ix_supply_contract_point_start', ['point_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_contract_supplier_id'), ['supplier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_contract_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('community_member',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('point_id', sa.String(length=36), nullable=False),
    sa.Column('household_id', sa.String(length=36), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_community_member_community_id_community')),
    sa.ForeignKeyConstraint(['household_id'], ['party.id'], name=op.f('fk_community_member_household_id_party')),
    sa.ForeignKeyConstraint(['point_id'], ['metering_point.id'], name=op.f('fk_community_member_point_id_metering_point')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_community_member_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('community_id', 'point_id', name=op.f('pk_community_member'))
    )
    with op.batch_alter_table('community_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_member_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_member_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('access_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mandate_id', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('access_event', schema=None) as batch_op:
        batch_op.drop_column('mandate_id')

    with op.batch_alter_table('community_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_member_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_community_member_household_id'))

    op.drop_table('community_member')
    with op.batch_alter_table('supply_contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supply_contract_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_supply_contract_supplier_id'))
        batch_op.drop_index('ix_supply_contract_point_start')

    op.drop_table('supply_contract')
    with op.batch_alter_table('staff_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_token_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_staff_token_account_id'))

    op.drop_table('staff_token')
    with op.batch_alter_table('privileged_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privileged_request_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_privileged_request_state'))

    op.drop_table('privileged_request')
    with op.batch_alter_table('community', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_community_organiser_id'))

    op.drop_table('community')
    with op.batch_alter_table('staff_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_action_tenant_id'))
        batch_op.drop_index('ix_staff_action_tenant_at')

    op.drop_table('staff_action')

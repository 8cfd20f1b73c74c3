"""OAuth server: authorization codes, access and refresh tokens, browser sessions.

Revision ID: 0002_oauth
Revises: 0001_initial
Create Date: 2026-11-22

Written by autogenerate, then reviewed: index creation flattened as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_oauth"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('browser_session',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_browser_session_account_id_account')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_browser_session_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_browser_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_browser_session_token_hash'))
    )
    op.create_index(op.f('ix_browser_session_account_id'), 'browser_session', ['account_id'])
    op.create_index(op.f('ix_browser_session_tenant_id'), 'browser_session', ['tenant_id'])

    op.create_table('oauth_code',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('recipient_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('consent_id', sa.String(length=36), nullable=False),
    sa.Column('redirect_uri', sa.String(length=2048), nullable=False),
    sa.Column('scope', sa.String(length=1024), nullable=False),
    sa.Column('authorization_details', sa.JSON(), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('code_challenge_method', sa.String(length=8), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_oauth_code_account_id_account')),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_oauth_code_consent_id_consent')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_oauth_code_recipient_id_recipient')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_oauth_code_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_oauth_code_code_hash'))
    )
    op.create_index(op.f('ix_oauth_code_account_id'), 'oauth_code', ['account_id'])
    op.create_index(op.f('ix_oauth_code_consent_id'), 'oauth_code', ['consent_id'])
    op.create_index(op.f('ix_oauth_code_recipient_id'), 'oauth_code', ['recipient_id'])
    op.create_index(op.f('ix_oauth_code_tenant_id'), 'oauth_code', ['tenant_id'])

    op.create_table('oauth_token',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('recipient_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('consent_id', sa.String(length=36), nullable=True),
    sa.Column('grant_type', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=1024), nullable=False),
    sa.Column('authorization_details', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_oauth_token_account_id_account')),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_oauth_token_consent_id_consent')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_oauth_token_recipient_id_recipient')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_oauth_token_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_oauth_token_token_hash'))
    )
    op.create_index(op.f('ix_oauth_token_consent_id'), 'oauth_token', ['consent_id'])
    op.create_index(op.f('ix_oauth_token_family_id'), 'oauth_token', ['family_id'])
    op.create_index(op.f('ix_oauth_token_recipient_id'), 'oauth_token', ['recipient_id'])
    op.create_index(op.f('ix_oauth_token_tenant_id'), 'oauth_token', ['tenant_id'])



def downgrade() -> None:
    op.drop_index(op.f('ix_oauth_token_tenant_id'), table_name='oauth_token')
    op.drop_index(op.f('ix_oauth_token_recipient_id'), table_name='oauth_token')
    op.drop_index(op.f('ix_oauth_token_family_id'), table_name='oauth_token')
    op.drop_index(op.f('ix_oauth_token_consent_id'), table_name='oauth_token')

    op.drop_table('oauth_token')
    op.drop_index(op.f('ix_oauth_code_tenant_id'), table_name='oauth_code')
    op.drop_index(op.f('ix_oauth_code_recipient_id'), table_name='oauth_code')
    op.drop_index(op.f('ix_oauth_code_consent_id'), table_name='oauth_code')
    op.drop_index(op.f('ix_oauth_code_account_id'), table_name='oauth_code')

    op.drop_table('oauth_code')
    op.drop_index(op.f('ix_browser_session_tenant_id'), table_name='browser_session')
    op.drop_index(op.f('ix_browser_session_account_id'), table_name='browser_session')

    op.drop_table('browser_session')

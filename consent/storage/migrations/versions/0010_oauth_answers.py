"""The answer given to each authorization request, so that a form submitted twice creates
nothing twice (docs/oauth.md, "One answer per request").

Revision ID: 0010_oauth_answers
Revises: 0009_evidence_documents
Create Date: 2026-11-30

Written by hand after the model (consent/models/oauth.py); the migrations test compares it with
the model on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_oauth_answers'
down_revision: str | None = '0009_evidence_documents'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('oauth_answer',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('recipient_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=False),
    sa.Column('consent_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_oauth_answer_account_id_account')),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_oauth_answer_consent_id_consent')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_oauth_answer_recipient_id_recipient')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_oauth_answer_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_answer')),
    sa.UniqueConstraint('request_hash', name=op.f('uq_oauth_answer_request_hash'))
    )
    op.create_index(op.f('ix_oauth_answer_tenant_id'), 'oauth_answer', ['tenant_id'])


def downgrade() -> None:
    op.drop_table('oauth_answer')  # drops its index with it

"""evidence tables

Revision ID: 0003_evidence
Revises: 0002_oauth
Create Date: 2026-11-22 13:36:27.330812
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_evidence"
down_revision: str | None = "0002_oauth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('evidence_checkpoint',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root', sa.LargeBinary(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.String(length=32), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('size', name=op.f('pk_evidence_checkpoint'))
    )
    with op.batch_alter_table('evidence_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_checkpoint_issued_at'), ['issued_at'], unique=False)

    op.create_table('evidence_log_entry',
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('chain', sa.String(length=100), nullable=True),
    sa.Column('seq', sa.BigInteger(), nullable=True),
    sa.Column('leaf', sa.Text(), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('payload_sha256', sa.String(length=64), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('consent_id', sa.String(length=64), nullable=True),
    sa.Column('household_id', sa.String(length=64), nullable=True),
    sa.Column('recipient_id', sa.String(length=64), nullable=True),
    sa.Column('mandate_id', sa.String(length=64), nullable=True),
    sa.Column('logged_at', sa.String(length=32), nullable=False),
    sa.Column('pruned_at', sa.String(length=32), nullable=True),
    sa.Column('prune_reason', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('idx', name=op.f('pk_evidence_log_entry'))
    )
    with op.batch_alter_table('evidence_log_entry', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_log_entry_at', ['at'], unique=False)
        batch_op.create_index('ix_evidence_log_entry_chain_seq', ['chain', 'seq'], unique=True)
        batch_op.create_index('ix_evidence_log_entry_consent', ['consent_id', 'idx'], unique=False)
        batch_op.create_index('ix_evidence_log_entry_household', ['household_id', 'idx'], unique=False)
        batch_op.create_index('ix_evidence_log_entry_kind_at', ['kind', 'at'], unique=False)
        batch_op.create_index('ix_evidence_log_entry_mandate', ['mandate_id', 'idx'], unique=False)
        batch_op.create_index('ix_evidence_log_entry_recipient', ['recipient_id', 'idx'], unique=False)

    op.create_table('evidence_log_head',
    sa.Column('log_id', sa.String(length=100), nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('root', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('log_id', name=op.f('pk_evidence_log_head'))
    )
    op.create_table('evidence_log_node',
    sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_evidence_log_node'))
    )
    op.create_table('evidence_signing_key',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_private_key', sa.LargeBinary(), nullable=False),
    sa.Column('kek_id', sa.String(length=16), nullable=False),
    sa.Column('not_before', sa.String(length=32), nullable=False),
    sa.Column('not_after', sa.String(length=32), nullable=True),
    sa.Column('current', sa.Boolean(), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_evidence_signing_key')),
    sa.UniqueConstraint('current', name=op.f('uq_evidence_signing_key_current'))
    )



def downgrade() -> None:

    op.drop_table('evidence_signing_key')
    op.drop_table('evidence_log_node')
    op.drop_table('evidence_log_head')
    with op.batch_alter_table('evidence_log_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_log_entry_recipient')
        batch_op.drop_index('ix_evidence_log_entry_mandate')
        batch_op.drop_index('ix_evidence_log_entry_kind_at')
        batch_op.drop_index('ix_evidence_log_entry_household')
        batch_op.drop_index('ix_evidence_log_entry_consent')
        batch_op.drop_index('ix_evidence_log_entry_chain_seq')
        batch_op.drop_index('ix_evidence_log_entry_at')

    op.drop_table('evidence_log_entry')
    with op.batch_alter_table('evidence_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_checkpoint_issued_at'))

    op.drop_table('evidence_checkpoint')


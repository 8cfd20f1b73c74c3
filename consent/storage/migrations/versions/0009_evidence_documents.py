"""Proof documents in the database (issue 9: replicas share nothing but the database).

Revision ID: 0009_evidence_documents
Revises: 0008_auditor_tokens
Create Date: 2026-11-24

Written by hand after the model (consent/evidence/tables.py, ``DocumentRow``); the migrations
test compares it with the model on both backends. Documents stored as files by earlier releases
are moved in by ``passerelle documents import-files`` (docs/operations.md, section 4), not here:
a migration cannot reach the old volume nor, without the evidence keys, open the files.

On PostgreSQL the sealed bytes are stored out of line without compression (``STORAGE
EXTERNAL``): AES-GCM output does not compress, so trying is wasted work on every write.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_evidence_documents'
down_revision: str | None = '0008_auditor_tokens'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('evidence_document',
    sa.Column('document_id', sa.String(length=64), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kek_id', sa.String(length=16), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('stored_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_evidence_document'))
    )
    op.create_index(op.f('ix_evidence_document_tenant'), 'evidence_document', ['tenant'])
    op.create_index(op.f('ix_evidence_document_kek_id'), 'evidence_document', ['kek_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE evidence_document ALTER COLUMN sealed SET STORAGE EXTERNAL')


def downgrade() -> None:
    op.drop_table('evidence_document')  # drops its indexes with it

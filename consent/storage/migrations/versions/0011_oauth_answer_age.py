"""An index on ``oauth_answer.created_at``, so that pruning old answers (consent/answers.py,
``prune_answers``) reads the oldest rows by index instead of scanning the table.

Revision ID: 0011_oauth_answer_age
Revises: 0010_oauth_answers
Create Date: 2026-12-02

Written by hand after the model (consent/models/oauth.py); the migrations test compares it with
the model on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0011_oauth_answer_age'
down_revision: str | None = '0010_oauth_answers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f('ix_oauth_answer_created_at'), 'oauth_answer', ['created_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_oauth_answer_created_at'), table_name='oauth_answer')

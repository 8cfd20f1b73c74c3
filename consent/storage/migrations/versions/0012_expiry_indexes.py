"""Indexes on the expiry of codes, tokens, sessions and reset codes, so that the sweep of
expired credentials (consent/expiry_sweep.py, ``prune_expired``) reads the oldest rows by index
instead of scanning the tables. ``oauth_code``'s leads with ``used_at``: only unused codes are
swept by expiry (used ones go with their token family).

Revision ID: 0012_expiry_indexes
Revises: 0011_oauth_answer_age
Create Date: 2026-12-03

Written by hand after the models (consent/models/oauth.py, operators.py, identity.py,
consent/auditors.py); the migrations test compares it with the models on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0012_expiry_indexes'
down_revision: str | None = '0011_oauth_answer_age'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: list[tuple[str, list[str]]] = [
    ('oauth_code', ['used_at', 'expires_at']),
    ('oauth_token', ['expires_at']),
    ('browser_session', ['expires_at']),
    ('staff_token', ['expires_at']),
    ('auditor_token', ['expires_at']),
    ('password_reset', ['expires_at']),
]


def _name(table: str, columns: list[str]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table, columns in INDEXES:
        op.create_index(op.f(_name(table, columns)), table, columns)


def downgrade() -> None:
    for table, columns in reversed(INDEXES):
        op.drop_index(op.f(_name(table, columns)), table_name=table)

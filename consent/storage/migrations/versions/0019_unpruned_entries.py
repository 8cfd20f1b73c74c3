"""The evidence entries retention has not pruned yet (R17): a partial index
``evidence_log_entry(kind, at) WHERE payload IS NOT NULL``.

The retention sweep (consent/retention_sweep.py) runs every hour and looks for payloads more
than 31 days old, oldest first; without this index each run would walk every entry it had
already pruned (the log keeps them all). The index holds about 31 days of entries. Building it
reads the whole table once: on a large PostgreSQL log, create it beforehand with ``CREATE INDEX
CONCURRENTLY ix_evidence_log_entry_unpruned ON evidence_log_entry (kind, at) WHERE payload IS
NOT NULL`` and this revision finds it there.

Revision ID: 0019_unpruned_entries
Revises: 0018_access_counts
Create Date: 2026-12-07

Written by hand after the model (consent/evidence/tables.py); the migrations test compares it
with the models on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019_unpruned_entries'
down_revision: str | None = '0018_access_counts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPRUNED = sa.text("payload IS NOT NULL")
NAME = 'ix_evidence_log_entry_unpruned'


def upgrade() -> None:
    op.create_index(NAME, 'evidence_log_entry', ['kind', 'at'], sqlite_where=UNPRUNED,
                    postgresql_where=UNPRUNED, if_not_exists=True)


def downgrade() -> None:
    op.drop_index(NAME, table_name='evidence_log_entry')

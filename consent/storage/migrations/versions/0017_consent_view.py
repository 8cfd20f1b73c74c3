"""Individual versus community consent (R4): ``consent.view`` and ``consent.community_id``.

``consent.view`` (text, not null, server default ``'individual'``): whether the recipient may
read the consent's points on their own (``individual``) or use them only inside the aggregate
of one collective self-consumption community (``community``, consent/community_consent.py).
Every consent existing before this revision becomes ``individual``: nothing changes for it.

``consent.community_id`` (nullable, foreign key to ``community.id``): the community a
``community`` consent feeds; ``NULL`` for an individual one.

Revision ID: 0017_consent_view
Revises: 0016_supplier_codes
Create Date: 2026-12-07

Written by hand after the model (consent/models/consents.py); the migrations test compares it
with the models on both backends. SQLite rebuilds the table (batch mode).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017_consent_view'
down_revision: str | None = '0016_supplier_codes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = 'fk_consent_community_id_community'


def upgrade() -> None:
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('view', sa.String(length=16), nullable=False,
                                      server_default='individual'))
        batch_op.add_column(sa.Column('community_id', sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(batch_op.f(FK), 'community', ['community_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(FK), type_='foreignkey')
        batch_op.drop_column('community_id')
        batch_op.drop_column('view')

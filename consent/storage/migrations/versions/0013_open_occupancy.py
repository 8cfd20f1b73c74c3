"""At most one open occupancy per point (R8: one client at a time): a partial unique index on
``occupancy(point_id) WHERE ends_at IS NULL``, the database's backstop behind the point lock
that claims and moves take (consent/services/point_lock.py).

A database where two households were both moved into one point at once (before that lock) has
several open occupancies of it: the upgrade stops and names those points instead of choosing an
occupant; the operator ends all but one (a move-out at the right instant), then upgrades again.

Revision ID: 0013_open_occupancy
Revises: 0012_expiry_indexes
Create Date: 2026-12-05

Written by hand after the model (consent/models/points.py); the migrations test compares it
with the models on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_open_occupancy'
down_revision: str | None = '0012_expiry_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("ends_at IS NULL")


def upgrade() -> None:
    doubled = op.get_bind().execute(sa.text(
        "SELECT p.tenant_id, p.source, p.identifier FROM occupancy o"
        " JOIN metering_point p ON p.id = o.point_id WHERE o.ends_at IS NULL"
        " GROUP BY p.tenant_id, p.source, p.identifier HAVING COUNT(*) > 1")).all()
    if doubled:
        names = ", ".join(f"{tenant}/{source}:{identifier}"
                          for tenant, source, identifier in doubled[:20])
        raise RuntimeError(
            f"{len(doubled)} point(s) have several current occupants ({names}): end all but "
            "one (a move-out), then run the upgrade again.")
    op.create_index('uq_occupancy_open_point', 'occupancy', ['point_id'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index('uq_occupancy_open_point', table_name='occupancy')

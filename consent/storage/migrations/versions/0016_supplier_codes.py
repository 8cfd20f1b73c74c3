"""A supplier's code on its registration: ``recipient.supplier_code`` (nullable, at most 64
characters) and the unique index ``uq_recipient_supplier_code`` on ``(tenant_id,
supplier_code)``: one supplier per code in a tenant (R13, consent/supplier_codes.py).

Until now the code a DSO reports was matched against the supplier organisation's
``party.external_ref`` *or* the recipient's display name, taking whichever row came first.
Contracts are now matched on ``recipient.supplier_code`` only. So that suppliers registered
before keep receiving their contracts, each supplier recipient gets, as its code, its
organisation's ``external_ref`` if it has one, else its name (both were matched before), when
that code is unambiguous: held by no other supplier of the tenant as either. An ambiguous one
(two suppliers a DSO's report could not tell apart) is left without a code, and receives no new
contract until the operator sets one (``POST /admin/recipients/{client_id}/supplier-code``).
``party.external_ref`` itself is left as it was.

Revision ID: 0016_supplier_codes
Revises: 0015_erasure_journal
Create Date: 2026-12-07

Written by hand after the model (consent/models/recipients.py); the migrations test compares it
with the models on both backends. SQLite rebuilds the table (batch mode).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016_supplier_codes'
down_revision: str | None = '0015_erasure_journal'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = 'uq_recipient_supplier_code'
WIDTH = 64


def upgrade() -> None:
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supplier_code', sa.String(length=WIDTH), nullable=True))
    bind = op.get_bind()
    suppliers = bind.execute(sa.text(
        "SELECT r.id, r.tenant_id, r.name, p.external_ref FROM recipient r"
        " JOIN party p ON p.id = r.party_id WHERE r.is_supplier")).all()
    # Every code a report could have matched before, per tenant: a code two suppliers answer
    # to (by reference or by name) was ambiguous, and is given to neither.
    answered = Counter((tenant, code) for _id, tenant, name, ref in suppliers
                       for code in {name, ref} if code)
    for recipient_id, tenant, name, ref in suppliers:
        code = ref or name
        if code and len(code) <= WIDTH and answered[(tenant, code)] == 1:
            bind.execute(sa.text("UPDATE recipient SET supplier_code = :code WHERE id = :id"),
                         {"code": code, "id": recipient_id})
    op.create_index(INDEX, 'recipient', ['tenant_id', 'supplier_code'], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name='recipient')
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.drop_column('supplier_code')

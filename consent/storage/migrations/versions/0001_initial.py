"""Initial schema: tenants, parties, accounts, recipients, points, occupancies, upstream
authorisations, proof documents, mandates and consents with their histories.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22

Written by autogenerate (``python -m consent.storage.migrate revision``), then reviewed: index
creation flattened, the ``default`` tenant inserted (every row's ``tenant_id`` defaults to it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tenant',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant'))
    )

    op.create_table('metering_point',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('identifier', sa.String(length=32), nullable=False),
    sa.Column('energy', sa.String(length=32), nullable=False),
    sa.Column('directions', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_metering_point_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metering_point')),
    sa.UniqueConstraint('tenant_id', 'source', 'identifier', name=op.f('uq_metering_point_tenant_id_source_identifier'))
    )
    op.create_index(op.f('ix_metering_point_tenant_id'), 'metering_point', ['tenant_id'])

    op.create_table('party',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('external_ref', sa.String(length=64), nullable=True),
    sa.Column('member_of_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['member_of_id'], ['party.id'], name=op.f('fk_party_member_of_id_party')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_party_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party'))
    )
    op.create_index(op.f('ix_party_kind'), 'party', ['kind'])
    op.create_index(op.f('ix_party_member_of_id'), 'party', ['member_of_id'])
    op.create_index(op.f('ix_party_tenant_id'), 'party', ['tenant_id'])

    op.create_table('account',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=150), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('party_id', sa.String(length=36), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], name=op.f('fk_account_party_id_party')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_account_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('tenant_id', 'username', name=op.f('uq_account_tenant_id_username'))
    )
    op.create_index(op.f('ix_account_party_id'), 'account', ['party_id'])
    op.create_index(op.f('ix_account_tenant_id'), 'account', ['tenant_id'])

    op.create_table('mandate',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('mandator_id', sa.String(length=36), nullable=False),
    sa.Column('mandatary_id', sa.String(length=36), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('datasets', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['mandatary_id'], ['party.id'], name=op.f('fk_mandate_mandatary_id_party')),
    sa.ForeignKeyConstraint(['mandator_id'], ['party.id'], name=op.f('fk_mandate_mandator_id_party')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_mandate_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate'))
    )
    op.create_index(op.f('ix_mandate_mandatary_id'), 'mandate', ['mandatary_id'])
    op.create_index(op.f('ix_mandate_mandator_id'), 'mandate', ['mandator_id'])
    op.create_index(op.f('ix_mandate_state'), 'mandate', ['state'])
    op.create_index(op.f('ix_mandate_tenant_id'), 'mandate', ['tenant_id'])

    op.create_table('occupancy',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('point_id', sa.String(length=36), nullable=False),
    sa.Column('household_id', sa.String(length=36), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['party.id'], name=op.f('fk_occupancy_household_id_party')),
    sa.ForeignKeyConstraint(['point_id'], ['metering_point.id'], name=op.f('fk_occupancy_point_id_metering_point')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_occupancy_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_occupancy'))
    )
    op.create_index(op.f('ix_occupancy_household_id'), 'occupancy', ['household_id'])
    op.create_index('ix_occupancy_point_start', 'occupancy', ['point_id', 'starts_at'])
    op.create_index(op.f('ix_occupancy_tenant_id'), 'occupancy', ['tenant_id'])

    op.create_table('proof_document',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('review_state', sa.String(length=32), nullable=False),
    sa.Column('uploaded_by', sa.String(length=36), nullable=False),
    sa.Column('reviewed_by', sa.String(length=36), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['reviewed_by'], ['party.id'], name=op.f('fk_proof_document_reviewed_by_party')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_proof_document_tenant_id_tenant')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['party.id'], name=op.f('fk_proof_document_uploaded_by_party')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proof_document')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_proof_document_storage_key'))
    )
    op.create_index(op.f('ix_proof_document_tenant_id'), 'proof_document', ['tenant_id'])

    op.create_table('recipient',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('party_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('website', sa.String(length=500), nullable=False),
    sa.Column('logo_url', sa.String(length=500), nullable=True),
    sa.Column('contact_email', sa.String(length=320), nullable=False),
    sa.Column('purposes', sa.JSON(), nullable=False),
    sa.Column('legal_basis', sa.String(length=32), nullable=False),
    sa.Column('data_role', sa.String(length=32), nullable=False),
    sa.Column('is_supplier', sa.Boolean(), nullable=False),
    sa.Column('allowed_datasets', sa.JSON(), nullable=False),
    sa.Column('redirect_uris', sa.JSON(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('client_secret_hash', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], name=op.f('fk_recipient_party_id_party')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_recipient_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recipient')),
    sa.UniqueConstraint('client_id', name=op.f('uq_recipient_client_id'))
    )
    op.create_index(op.f('ix_recipient_party_id'), 'recipient', ['party_id'])
    op.create_index(op.f('ix_recipient_tenant_id'), 'recipient', ['tenant_id'])

    op.create_table('upstream_authorisation',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('point_id', sa.String(length=36), nullable=False),
    sa.Column('household_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('upstream_id', sa.String(length=128), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['party.id'], name=op.f('fk_upstream_authorisation_household_id_party')),
    sa.ForeignKeyConstraint(['point_id'], ['metering_point.id'], name=op.f('fk_upstream_authorisation_point_id_metering_point')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_upstream_authorisation_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upstream_authorisation'))
    )
    op.create_index(op.f('ix_upstream_authorisation_household_id'), 'upstream_authorisation', ['household_id'])
    op.create_index(op.f('ix_upstream_authorisation_point_id'), 'upstream_authorisation', ['point_id'])
    op.create_index(op.f('ix_upstream_authorisation_tenant_id'), 'upstream_authorisation', ['tenant_id'])

    op.create_table('consent',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('arrangement_id', sa.String(length=36), nullable=False),
    sa.Column('supersedes_id', sa.String(length=36), nullable=True),
    sa.Column('grantor_id', sa.String(length=36), nullable=False),
    sa.Column('recipient_id', sa.String(length=36), nullable=False),
    sa.Column('mandate_id', sa.String(length=36), nullable=True),
    sa.Column('datasets', sa.JSON(), nullable=False),
    sa.Column('max_resolution', sa.String(length=8), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('history_days', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('legal_basis', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('text_version', sa.String(length=64), nullable=True),
    sa.Column('text_hash', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grantor_id'], ['party.id'], name=op.f('fk_consent_grantor_id_party')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_consent_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_consent_recipient_id_recipient')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['consent.id'], name=op.f('fk_consent_supersedes_id_consent')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_consent_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    op.create_index(op.f('ix_consent_arrangement_id'), 'consent', ['arrangement_id'])
    op.create_index(op.f('ix_consent_grantor_id'), 'consent', ['grantor_id'])
    op.create_index(op.f('ix_consent_recipient_id'), 'consent', ['recipient_id'])
    op.create_index(op.f('ix_consent_state'), 'consent', ['state'])
    op.create_index(op.f('ix_consent_tenant_id'), 'consent', ['tenant_id'])

    op.create_table('mandate_event',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=False),
    sa.Column('actor_role', sa.String(length=32), nullable=False),
    sa.Column('actor_party_id', sa.String(length=36), nullable=True),
    sa.Column('actor_account_id', sa.String(length=36), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mandate_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['actor_account_id'], ['account.id'], name=op.f('fk_mandate_event_actor_account_id_account')),
    sa.ForeignKeyConstraint(['actor_party_id'], ['party.id'], name=op.f('fk_mandate_event_actor_party_id_party')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_mandate_event_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_mandate_event_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate_event'))
    )
    op.create_index(op.f('ix_mandate_event_mandate_id'), 'mandate_event', ['mandate_id'])
    op.create_index(op.f('ix_mandate_event_tenant_id'), 'mandate_event', ['tenant_id'])

    op.create_table('mandate_point',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('mandate_id', sa.String(length=36), nullable=False),
    sa.Column('point_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_mandate_point_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['point_id'], ['metering_point.id'], name=op.f('fk_mandate_point_point_id_metering_point')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_mandate_point_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('mandate_id', 'point_id', name=op.f('pk_mandate_point'))
    )
    op.create_index(op.f('ix_mandate_point_tenant_id'), 'mandate_point', ['tenant_id'])

    op.create_table('mandate_proof',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('mandate_id', sa.String(length=36), nullable=False),
    sa.Column('proof_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_mandate_proof_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['proof_id'], ['proof_document.id'], name=op.f('fk_mandate_proof_proof_id_proof_document')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_mandate_proof_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('mandate_id', 'proof_id', name=op.f('pk_mandate_proof'))
    )
    op.create_index(op.f('ix_mandate_proof_tenant_id'), 'mandate_proof', ['tenant_id'])

    op.create_table('consent_event',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=False),
    sa.Column('actor_role', sa.String(length=32), nullable=False),
    sa.Column('actor_party_id', sa.String(length=36), nullable=True),
    sa.Column('actor_account_id', sa.String(length=36), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consent_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['actor_account_id'], ['account.id'], name=op.f('fk_consent_event_actor_account_id_account')),
    sa.ForeignKeyConstraint(['actor_party_id'], ['party.id'], name=op.f('fk_consent_event_actor_party_id_party')),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_event_consent_id_consent')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_consent_event_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_event'))
    )
    op.create_index(op.f('ix_consent_event_consent_id'), 'consent_event', ['consent_id'])
    op.create_index(op.f('ix_consent_event_tenant_id'), 'consent_event', ['tenant_id'])

    op.create_table('consent_point',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('consent_id', sa.String(length=36), nullable=False),
    sa.Column('point_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_point_consent_id_consent')),
    sa.ForeignKeyConstraint(['point_id'], ['metering_point.id'], name=op.f('fk_consent_point_point_id_metering_point')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_consent_point_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('consent_id', 'point_id', name=op.f('pk_consent_point'))
    )
    op.create_index(op.f('ix_consent_point_tenant_id'), 'consent_point', ['tenant_id'])

    op.create_table('consent_proof',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('consent_id', sa.String(length=36), nullable=False),
    sa.Column('proof_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_proof_consent_id_consent')),
    sa.ForeignKeyConstraint(['proof_id'], ['proof_document.id'], name=op.f('fk_consent_proof_proof_id_proof_document')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_consent_proof_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('consent_id', 'proof_id', name=op.f('pk_consent_proof'))
    )
    op.create_index(op.f('ix_consent_proof_tenant_id'), 'consent_proof', ['tenant_id'])

    tenant = sa.table("tenant", sa.column("id", sa.String), sa.column("name", sa.String),
                      sa.column("created_at", sa.DateTime(timezone=True)))
    op.bulk_insert(tenant, [{"id": "default", "name": "Default tenant",
                             "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table('consent_proof')
    op.drop_table('consent_point')
    op.drop_table('consent_event')
    op.drop_table('mandate_proof')
    op.drop_table('mandate_point')
    op.drop_table('mandate_event')
    op.drop_table('consent')
    op.drop_table('upstream_authorisation')
    op.drop_table('recipient')
    op.drop_table('proof_document')
    op.drop_table('occupancy')
    op.drop_table('mandate')
    op.drop_table('account')
    op.drop_table('party')
    op.drop_table('metering_point')
    op.drop_table('tenant')

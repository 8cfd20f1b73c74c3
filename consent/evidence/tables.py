"""The evidence tables (SQLModel). Every table name starts with ``evidence_``.

Instants are stored as the fixed-width RFC 3339 text of :mod:`consent.evidence.canonical`
(``2026-01-09T10:00:00.000000Z``): the exact text that was hashed and signed, ordered like time
on every database.

- ``evidence_log_head``: one row per log: origin (the checkpoint name, fixed when the log
  starts), size and root hash; its row lock (``FOR UPDATE``) makes one integrator at a time on
  PostgreSQL.
- ``evidence_log_entry``: one row per leaf: the leaf text (what is hashed), the payload (nullable
  once pruned, R17; a partial index holds the entries not pruned yet), and copies of the
  references used to select entries for a bundle.
- ``evidence_log_node``: every perfect subtree hash ``(level, idx)``, so any proof costs O(log n)
  reads.
- ``evidence_checkpoint``: signed checkpoints (C2SP notes), one per tree size.
- ``evidence_signing_key``: public keys and sealed private keys; ``current`` is ``True`` for the
  one open key and ``NULL`` otherwise (unique, so two replicas cannot both open a key).
- ``evidence_document``: proof documents (R2), sealed (:mod:`consent.evidence.blobs_db`): the
  sealed bytes, the key that sealed them, the owning tenant, and the plaintext's size and
  SHA-256 (what ``proof_document`` cites), so an operator can count and check them without
  opening any.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, LargeBinary, SmallInteger, Text, text
from sqlmodel import Field, SQLModel

_ID = 64
_INSTANT = 32
#: Entries whose payload retention has not pruned yet (R17).
UNPRUNED = text("payload IS NOT NULL")


class LogHeadRow(SQLModel, table=True):
    __tablename__ = "evidence_log_head"

    log_id: str = Field(primary_key=True, max_length=100)
    origin: str = Field(max_length=200)
    size: int = Field(sa_type=BigInteger)
    root: bytes = Field(sa_type=LargeBinary)
    updated_at: str = Field(max_length=_INSTANT)


class LogEntryRow(SQLModel, table=True):
    __tablename__ = "evidence_log_entry"
    __table_args__ = (
        Index("ix_evidence_log_entry_chain_seq", "chain", "seq", unique=True),
        Index("ix_evidence_log_entry_consent", "consent_id", "idx"),
        Index("ix_evidence_log_entry_household", "household_id", "idx"),
        Index("ix_evidence_log_entry_recipient", "recipient_id", "idx"),
        Index("ix_evidence_log_entry_mandate", "mandate_id", "idx"),
        Index("ix_evidence_log_entry_kind_at", "kind", "at"),
        Index("ix_evidence_log_entry_at", "at"),
        # What retention still has to prune: about 31 days of entries, found without walking
        # past the billions it already pruned (consent/evidence/retention.py).
        Index("ix_evidence_log_entry_unpruned", "kind", "at", sqlite_where=UNPRUNED,
              postgresql_where=UNPRUNED),
    )

    idx: int = Field(primary_key=True, sa_type=BigInteger,
                     sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=64)
    at: str = Field(max_length=_INSTANT)
    chain: str | None = Field(default=None, max_length=100)
    seq: int | None = Field(default=None, sa_type=BigInteger)
    leaf: str = Field(sa_type=Text)
    leaf_hash: bytes = Field(sa_type=LargeBinary)
    payload: str | None = Field(default=None, sa_type=Text)
    payload_sha256: str = Field(max_length=64)
    tenant: str | None = Field(default=None, max_length=_ID)
    consent_id: str | None = Field(default=None, max_length=_ID)
    household_id: str | None = Field(default=None, max_length=_ID)
    recipient_id: str | None = Field(default=None, max_length=_ID)
    mandate_id: str | None = Field(default=None, max_length=_ID)
    logged_at: str = Field(max_length=_INSTANT)
    pruned_at: str | None = Field(default=None, max_length=_INSTANT)
    prune_reason: str | None = Field(default=None, max_length=200)


class LogNodeRow(SQLModel, table=True):
    __tablename__ = "evidence_log_node"

    level: int = Field(primary_key=True, sa_type=SmallInteger,
                       sa_column_kwargs={"autoincrement": False})
    idx: int = Field(primary_key=True, sa_type=BigInteger,
                     sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_type=LargeBinary)


class CheckpointRow(SQLModel, table=True):
    __tablename__ = "evidence_checkpoint"

    size: int = Field(primary_key=True, sa_type=BigInteger,
                      sa_column_kwargs={"autoincrement": False})
    root: bytes = Field(sa_type=LargeBinary)
    note: str = Field(sa_type=Text)
    issued_at: str = Field(max_length=_INSTANT, index=True)
    kid: str = Field(max_length=64)


class SigningKeyRow(SQLModel, table=True):
    __tablename__ = "evidence_signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    algorithm: str = Field(max_length=16)
    public_key: bytes = Field(sa_type=LargeBinary)
    sealed_private_key: bytes = Field(sa_type=LargeBinary)
    kek_id: str = Field(max_length=16)
    not_before: str = Field(max_length=_INSTANT)
    not_after: str | None = Field(default=None, max_length=_INSTANT)
    current: bool | None = Field(default=None, unique=True)


class DocumentRow(SQLModel, table=True):
    __tablename__ = "evidence_document"

    document_id: str = Field(primary_key=True, max_length=_ID)
    tenant: str = Field(max_length=_ID, index=True)
    media_type: str = Field(max_length=100)
    size_bytes: int = Field(sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    kek_id: str = Field(max_length=16, index=True)
    sealed: bytes = Field(sa_type=LargeBinary)
    stored_at: str = Field(max_length=_INSTANT)


EVIDENCE_TABLES = [LogHeadRow, LogEntryRow, LogNodeRow, CheckpointRow, SigningKeyRow,
                   DocumentRow]

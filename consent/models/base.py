"""What every Passerelle table shares: naming convention, ids, the tenant column (R24).

Import this module (directly or through ``consent.models``) before defining a table: it sets
the constraint naming convention on :data:`sqlmodel.SQLModel.metadata`, which Alembic needs to
alter constraints on SQLite (batch mode) and to name them the same on both backends.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from consent.storage.types import EnumText, UTCDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The tenant every single-operator instance uses.
DEFAULT_TENANT = "default"

ID_LENGTH = 36


def new_id() -> str:
    """A fresh random identifier (UUID4, text form): unguessable, so safe to show in URLs."""
    return str(uuid.uuid4())


def time_ordered_id(unix_ms: int | None = None) -> str:
    """A fresh identifier that sorts by creation time to the millisecond (within one, and
    across a clock stepped back, in no particular order): a UUIDv7 (RFC 9562 section 5.7), 48 bits
    of Unix milliseconds (``unix_ms``, now by default), the version and variant bits, then 74
    bits from ``os.urandom``, in the same text form as :func:`new_id`.

    For tables that take a row per data request (``access_event``): a random key puts every
    insert on a random page of the primary-key index, so each batch writes (SQLite: into its
    write-ahead log, PostgreSQL: after each checkpoint, whole) one page per row; keys in time
    order all land on the index's last page. Still unguessable: 74 random bits."""
    if unix_ms is None:
        unix_ms = time.time_ns() // 1_000_000
    random = int.from_bytes(os.urandom(10))
    value = ((unix_ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (random >> 68) << 64
             | 0b10 << 62 | random & 0x3FFF_FFFF_FFFF_FFFF)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def id_field(**kwargs: Any) -> Any:
    """Primary key column holding a :func:`new_id`."""
    return Field(default_factory=new_id, primary_key=True, max_length=ID_LENGTH, **kwargs)


def ref_field(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    """Foreign key column to ``target`` (``"table.id"``)."""
    return Field(default=None if nullable else ..., foreign_key=target, max_length=ID_LENGTH,
                 nullable=nullable, index=index)


def instant_field(*, nullable: bool = False) -> Any:
    """A timezone-aware instant; required unless ``nullable`` (callers pass ``clock.now()``)."""
    return Field(default=None if nullable else ..., sa_type=UTCDateTime, nullable=nullable)


def enum_field(enum: type[StrEnum], *, nullable: bool = False, default: Any = ...,
               index: bool = False, length: int = 32) -> Any:
    """A :class:`StrEnum` stored as text (see :class:`~consent.storage.types.EnumText`)."""
    if nullable and default is ...:
        default = None
    return Field(default=default, sa_type=EnumText(enum, length), nullable=nullable, index=index)


def json_list_field() -> Any:
    """A JSON array column, empty by default."""
    return Field(default_factory=list, sa_type=sa.JSON, nullable=False)


class TenantScoped(SQLModel):
    """Mixin: the ``tenant_id`` column every table carries, ready for tenant walls (R24).

    Every query of a service filters on the caller's tenant; rows of two tenants never mix.
    """

    tenant_id: str = Field(default=DEFAULT_TENANT, foreign_key="tenant.id", max_length=64,
                           index=True)


class Created(SQLModel):
    """Mixin: the instant the row was created (from the service's clock, never the DB's)."""

    created_at: datetime = instant_field()

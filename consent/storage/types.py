"""Column types that behave the same on SQLite and PostgreSQL.

- :class:`UTCDateTime`: every instant is stored in UTC and read back timezone-aware. PostgreSQL
  keeps ``timestamptz``; SQLite has no zone, so the value is stored as naive UTC and the zone is
  put back on read. A naive datetime is refused on write: an instant without a zone is a bug.
- :class:`EnumText`: a :class:`~enum.StrEnum` stored as its value in a ``VARCHAR`` (no native
  PostgreSQL enum type, so adding a state is a one-line change, not a type migration) and read
  back as the enum member.
- :data:`JSONList`: a JSON array (datasets, redirect URIs, roles...).

Migrations render these as their plain ``impl`` type (see ``migrations/env.py``), so a revision
never imports application code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored in UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime ({value.isoformat()})")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EnumText(TypeDecorator[StrEnum]):
    """A :class:`StrEnum` stored as text; unknown values read back raise ``ValueError``."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 32) -> None:
        super().__init__(length=length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        if value is None:
            return None
        return self.enum(value)


#: A JSON array; on PostgreSQL plain ``json`` (we never query inside it).
JSONList = sa.JSON

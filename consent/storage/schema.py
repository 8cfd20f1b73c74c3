"""The complete table metadata of Passerelle: what migrations must produce.

:func:`target_metadata` imports every module that defines tables, so that Alembic's
autogenerate and the "migrations match the models" test see all of them. A package that adds
tables lists its models module in :data:`TABLE_MODULES`.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlmodel import SQLModel

TABLE_MODULES = ("consent.models", "consent.evidence.tables", "consent.access_events",
                 "consent.day_cache", "consent.shared_state.tables", "consent.auditors",
                 "consent.access_counts")


def target_metadata() -> MetaData:
    """``SQLModel.metadata`` with every Passerelle table registered on it."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return SQLModel.metadata

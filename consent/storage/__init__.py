"""Persistence: SQLModel tables, migrations and the async database handle."""

from consent.storage.database import Database

__all__ = ["Database"]

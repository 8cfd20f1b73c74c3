"""Alembic migrations, run programmatically by :meth:`consent.storage.Database.migrate`.

Adding tables: define the models, list their module in ``consent.storage.schema.TABLE_MODULES``,
then generate a revision against a database at the current head::

    python -m consent.storage.migrate revision -m "add tokens" --database-url sqlite:///x.db

Review the generated file (types are rendered as plain SQLAlchemy types), keep
``down_revision`` on the current head of ``main``, and never edit a merged revision.
"""

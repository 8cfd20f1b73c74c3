"""Fixtures of the evidence-wiring tests: the data-proxy world (tests/proxy/world.py), whose
application now carries the evidence subsystem, on SQLite (``world``) or on each backend
(``world_any``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.proxy.conftest import cheap_argon2, world, world_of
from tests.proxy.world import World, build_world

__all__ = ["cheap_argon2", "world", "world_any", "world_of"]


@pytest.fixture
async def world_any(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """The same world on SQLite and on PostgreSQL."""
    w = await build_world(database_url, tmp_path / "instance")
    yield w
    await w.client.close()

"""Fixtures of the evidence-wiring tests: the data-proxy world (tests/proxy/world.py), whose
application now carries the evidence subsystem."""

from __future__ import annotations

from tests.proxy.conftest import cheap_argon2, world

__all__ = ["cheap_argon2", "world"]

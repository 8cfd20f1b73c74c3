"""The deployment tests share one running local topology (tests/support/topology.py)."""

from tests.support.topology import topology

__all__ = ["topology"]

"""Adapter tests share the contract suite's simulator, clock and server fixtures."""

from tests.contract.conftest import base_url, clock, simulator

__all__ = ["base_url", "clock", "simulator"]

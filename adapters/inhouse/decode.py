"""Kept for imports of the in-house client: the walker now lives in :mod:`adapters.decode`."""

from adapters.decode import Doc

__all__ = ["Doc"]

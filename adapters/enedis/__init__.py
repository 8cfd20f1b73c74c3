"""Enedis Data Connect: the 2026 generation, and v5 behind the same interface."""

from adapters.enedis.adapter import EnedisAdapter
from adapters.enedis.config import EnedisConfig, Generation
from adapters.enedis.consent import (
    AuthorisationDirectory,
    InMemoryDirectory,
    KnownAuthorisation,
)

__all__ = ["AuthorisationDirectory", "EnedisAdapter", "EnedisConfig", "Generation",
           "InMemoryDirectory", "KnownAuthorisation"]

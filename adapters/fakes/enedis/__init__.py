"""The fake Enedis Data Connect gateway (2026 generation and v5)."""

from adapters.fakes.enedis.app import create_enedis_app
from adapters.fakes.enedis.state import ENEDIS_KEY, EnedisFakeConfig, EnedisState

__all__ = ["ENEDIS_KEY", "EnedisFakeConfig", "EnedisState", "create_enedis_app"]

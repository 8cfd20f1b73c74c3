"""The fake GRDF ADICT v2 (droits d'accès, proofs, consumption, contract and technical data)."""

from adapters.fakes.grdf.app import create_grdf_app
from adapters.fakes.grdf.state import (
    API_PREFIX,
    GRDF_KEY,
    TOKEN_PATH,
    GrdfFakeConfig,
    GrdfState,
)

__all__ = ["API_PREFIX", "GRDF_KEY", "TOKEN_PATH", "GrdfFakeConfig", "GrdfState",
           "create_grdf_app"]

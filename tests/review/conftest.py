"""Review findings: reuse the market-rule and portal fixtures."""

from tests.portal.conftest import alice, portal  # noqa: F401
from tests.rules.conftest import app_world, app_world_any, cheap_argon2, rules  # noqa: F401

"""The whole URL map, in one screen."""

from __future__ import annotations

from aiohttp import web

from proxy import health
from proxy.data.setup import add_data_routes


def setup_routes(app: web.Application) -> None:
    """Register every route of Passerelle on ``app``."""
    app.router.add_get("/healthz", health.healthz, name="healthz")
    # --- data proxy (issue 4): /api/v1, /api/openapi.json, /api/docs, /compat/enedis -------
    add_data_routes(app)

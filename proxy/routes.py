"""The whole URL map, in one screen."""

from __future__ import annotations

from aiohttp import web

from proxy import health, observability


def setup_routes(app: web.Application) -> None:
    """Register every route of Passerelle on ``app``."""
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/readyz", health.readyz, name="readyz")
    app.router.add_get("/metrics", observability.metrics_endpoint, name="metrics")

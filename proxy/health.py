"""Liveness and readiness endpoints."""

from __future__ import annotations

from aiohttp import web

from proxy.keys import database_key


async def healthz(request: web.Request) -> web.Response:
    """200 while the process runs and its database answers; 503 otherwise."""
    db = request.app[database_key]
    try:
        await db.ping()
    except Exception:
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    return web.json_response({"status": "ok", "database": db.dialect})

"""Real servers on 127.0.0.1 for the contract suite (no mocks: the adapters speak HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from aiohttp import web

from adapters.inhouse.config import ServerConfig
from adapters.inhouse.server import create_inhouse_app
from adapters.simulator import Simulator

CLIENT_ID = "passerelle"
CLIENT_SECRET = "s3cret-for-tests"
ADMIN_TOKEN = "admin-for-tests"


async def serve(simulator: Simulator, **config: object) -> AsyncIterator[str]:
    """Run the in-house DSO server on 127.0.0.1 (random port); yield its base URL."""
    settings = replace(ServerConfig(clients={CLIENT_ID: CLIENT_SECRET}, admin_token=ADMIN_TOKEN),
                       **config)
    runner = web.AppRunner(create_inhouse_app(simulator, settings), handler_cancellation=True,
                           shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()

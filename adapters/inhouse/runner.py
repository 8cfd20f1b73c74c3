"""Run the simulator's in-house DSO server from the command line (``passerelle simulator``)."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta

from aiohttp import web

from adapters.inhouse.config import ServerConfig
from adapters.inhouse.server import create_inhouse_app
from adapters.simulator.simulator import Simulator

SECRET_ENV = "PASSERELLE_SIMULATOR_SECRET"  # noqa: S105 - a variable name, not a secret
ADMIN_ENV = "PASSERELLE_SIMULATOR_ADMIN_TOKEN"


def run_simulator(*, host: str, port: int, client_id: str, seed: int, port_delay: float) -> int:
    """Serve until interrupted. Secrets come from the environment, never from argv (``ps``)."""
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        secret = secrets.token_urlsafe(24)
        print(f"No ${SECRET_ENV}: generated client secret for {client_id!r}: {secret}")
    admin = os.environ.get(ADMIN_ENV) or None
    config = ServerConfig(clients={client_id: secret}, admin_token=admin)
    simulator = Simulator(seed=seed, port_delay=timedelta(seconds=port_delay))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    admin_note = "admin routes on" if admin else f"admin routes off (set ${ADMIN_ENV})"
    web.run_app(create_inhouse_app(simulator, config), host=host, port=port,
                print=lambda msg: print(f"DSO simulator at http://{host}:{port} ({admin_note}; "
                                        f"{msg.strip()})"))
    return 0

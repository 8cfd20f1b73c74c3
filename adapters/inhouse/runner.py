"""Run the simulator's in-house DSO server from the command line (``passerelle simulator``);
``dso="enedis"`` or ``"grdf"`` serves the same simulator through the fake Data Connect or ADICT
instead, so the real Enedis and GRDF adapters can be demonstrated without DSO credentials."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from datetime import timedelta

from aiohttp import web

from adapters.inhouse.config import ServerConfig
from adapters.inhouse.server import create_inhouse_app
from adapters.simulator.profiles import PointProfile
from adapters.simulator.simulator import Simulator

SECRET_ENV = "PASSERELLE_SIMULATOR_SECRET"  # noqa: S105 - a variable name, not a secret
ADMIN_ENV = "PASSERELLE_SIMULATOR_ADMIN_TOKEN"


def _app(dso: str, simulator: Simulator, client_id: str, secret: str,
         admin: str | None) -> web.Application:
    if dso == "enedis":
        from adapters.fakes.enedis import EnedisFakeConfig, create_enedis_app

        return create_enedis_app(simulator, EnedisFakeConfig(clients={client_id: secret}))
    if dso == "grdf":
        from adapters.fakes.grdf import GrdfFakeConfig, create_grdf_app

        return create_grdf_app(simulator, GrdfFakeConfig(clients={client_id: secret}))
    return create_inhouse_app(simulator, ServerConfig(clients={client_id: secret},
                                                      admin_token=admin))


def run_simulator(*, host: str, port: int, client_id: str, seed: int, port_delay: float,
                  dso: str = "inhouse", profiles: Iterable[PointProfile] = ()) -> int:
    """Serve until interrupted. Secrets come from the environment, never from argv (``ps``).
    ``profiles`` fix some meters (the demo's); every other point is derived from its id."""
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        secret = secrets.token_urlsafe(24)
        print(f"No ${SECRET_ENV}: generated client secret for {client_id!r}: {secret}")
    admin = os.environ.get(ADMIN_ENV) or None
    simulator = Simulator(profiles=profiles, seed=seed, port_delay=timedelta(seconds=port_delay))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    admin_note = "admin routes on" if admin else f"admin routes off (set ${ADMIN_ENV})"
    web.run_app(_app(dso, simulator, client_id, secret, admin), host=host, port=port,
                print=lambda msg: print(f"DSO simulator ({dso}) at http://{host}:{port} "
                                        f"({admin_note}; {msg.strip()})"))
    return 0

"""Typed application keys of the in-house DSO server."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from adapters.inhouse.config import ServerConfig
from adapters.simulator.simulator import Simulator

simulator_key = web.AppKey("simulator", Simulator)
config_key = web.AppKey("config", ServerConfig)
#: Issued bearer tokens and their expiry (opaque tokens: RFC 6750 does not need them signed).
tokens_key = web.AppKey("tokens", dict[str, datetime])

"""Every typed aiohttp application and request key, in one place."""

from __future__ import annotations

from aiohttp import web

from consent.clock import Clock
from consent.storage import Database
from proxy.metrics import Metrics
from proxy.settings import Settings

settings_key = web.AppKey("settings", Settings)
database_key = web.AppKey("database", Database)
clock_key = web.AppKey("clock", Clock)
metrics_key = web.AppKey("metrics", Metrics)

request_id_key = web.RequestKey("request_id", str)

"""Every typed aiohttp application and request key, in one place."""

from __future__ import annotations

from aiohttp import web

from consent.access_events import AccessEventSink
from consent.clock import Clock
from consent.storage import Database
from proxy.data.service import DataService
from proxy.settings import Settings

settings_key = web.AppKey("settings", Settings)
database_key = web.AppKey("database", Database)
clock_key = web.AppKey("clock", Clock)

# --- data proxy (issue 4): native API, Data Connect-compatible API, upstream economy ---------
access_sink_key = web.AppKey("access_sink", AccessEventSink)
data_service_key = web.AppKey("data_service", DataService)

request_id_key = web.RequestKey("request_id", str)

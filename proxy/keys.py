"""Every typed aiohttp application and request key, in one place."""

from __future__ import annotations

from aiohttp import web

from consent.clock import Clock
from consent.services import ConsentService
from consent.storage import Database
from proxy.oauth.server import PasserelleServer
from proxy.settings import Settings
from proxy.verified_token import VerifiedToken
from proxy.web.ratelimit import LoginThrottle

settings_key = web.AppKey("settings", Settings)
database_key = web.AppKey("database", Database)
clock_key = web.AppKey("clock", Clock)
web_secret_key = web.AppKey("web_secret", bytes)
login_throttle_key = web.AppKey("login_throttle", LoginThrottle)
oauth_server_key = web.AppKey("oauth_server", PasserelleServer)
consent_service_key = web.AppKey("consent_service", ConsentService)

request_id_key = web.RequestKey("request_id", str)
verified_token_key = web.RequestKey("verified_token", VerifiedToken)

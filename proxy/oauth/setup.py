"""Wire the OAuth server and the household sign-in into an application: ``setup_oauth(app)``.

It creates the authlib server for the instance's issuer and, once the database is open (a
``cleanup_ctx`` that runs after the database's), the login throttle (shared through
PostgreSQL), the server key used for CSRF tokens, the back-channel endpoints' store
(clients remembered, client-credentials tokens group-committed: :mod:`proxy.oauth.store`), the
:class:`~consent.services.ConsentService` whose hook revokes a consent's tokens in the same
transaction that ends it, and the sweeps that delete answers to authorization requests past
their replay window (:mod:`proxy.oauth.answer_once`) and credentials past their expiry
(:mod:`consent.expiry_sweep`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from consent.expiry_sweep import prune_expired
from consent.services import ConsentService
from consent.tokens import revoke_tokens_of_ended_consent
from proxy.keys import (
    clock_key,
    consent_service_key,
    database_key,
    invalidation_bus_key,
    login_throttle_key,
    oauth_server_key,
    settings_key,
    token_store_key,
    web_secret_key,
)
from proxy.oauth.answer_once import prune_old_answers
from proxy.oauth.server import PasserelleServer
from proxy.oauth.store import TokenEndpointStore
from proxy.sweeps import sweeping
from proxy.web.csrf import load_secret_key
from proxy.web.ratelimit import LoginThrottle

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"

log = logging.getLogger("passerelle.oauth")


def setup_oauth(app: web.Application) -> None:
    """Create the OAuth server's resources on ``app`` (its routes are in ``proxy/routes.py``)."""
    app[oauth_server_key] = PasserelleServer(app[settings_key].issuer)
    app.cleanup_ctx.append(_oauth_ctx)


async def _oauth_ctx(app: web.Application) -> AsyncIterator[None]:
    app[web_secret_key] = load_secret_key(app[settings_key])
    store = TokenEndpointStore(app[database_key], app[invalidation_bus_key],
                               ttl=app[settings_key].check_cache_ttl)
    store.start()
    app[token_store_key] = store
    app[login_throttle_key] = LoginThrottle.for_database(app[database_key], app[clock_key])
    service = ConsentService(app[database_key], app[clock_key])
    service.hooks.listeners.append(revoke_tokens_of_ended_consent)
    app[consent_service_key] = service
    db, clock, settings = app[database_key], app[clock_key], app[settings_key]
    try:
        async with (sweeping("answer-janitor", lambda: prune_old_answers(db, clock.now()),
                             settings.answer_prune_interval, log,
                             "oauth: deleted %d answers past their replay window"),
                    sweeping("expiry-janitor", lambda: prune_expired(db, clock.now()),
                             settings.expired_prune_interval, log,
                             "oauth: deleted %d expired codes, tokens and sessions")):
            yield
    finally:
        await store.close()  # first writes the tokens that requests still wait for

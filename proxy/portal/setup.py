"""Wiring of the household portal: its services, once the database and the data path are up.

:func:`setup_portal` appends one ``cleanup_ctx`` after the data proxy's (it needs the data
service's upstreams and access-event sink): the :class:`~proxy.data.household.HouseholdReader`
and the :class:`~consent.claims.ClaimService` over the rules' occupancy service (so consents
and mandates ended by a move-in stop with their tokens, R9), and the recorder that says how a
household signed in, for the signed records of its decisions (:mod:`proxy.portal.recording`);
and, when a provider is configured, the OpenID Connect client with its own HTTP session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from consent.claims import ClaimService
from consent.own_access import household_policy
from proxy.data.household import HouseholdReader
from proxy.keys import (
    access_sink_key,
    claim_service_key,
    claim_throttle_key,
    clock_key,
    data_service_key,
    database_key,
    decision_recorder_key,
    household_reader_key,
    mandate_person_throttle_key,
    oidc_client_key,
    rules_key,
    settings_key,
)
from proxy.portal.claims import claim_throttle
from proxy.portal.mandataries import person_throttle
from proxy.portal.oidc_client import OidcClient
from proxy.portal.recording import DecisionRecorder


def setup_portal(app: web.Application) -> None:
    """Create the portal's resources on ``app`` (routes: :mod:`proxy.portal.routes`)."""
    app.cleanup_ctx.append(_portal_ctx)


async def _portal_ctx(app: web.Application) -> AsyncIterator[None]:
    db, clock = app[database_key], app[clock_key]
    app[household_reader_key] = HouseholdReader(db, app[data_service_key].upstreams,
                                                app[access_sink_key], clock, household_policy())
    rules = app[rules_key]
    app[claim_service_key] = ClaimService(db, clock, rules.occupancy)
    app[claim_throttle_key] = claim_throttle(db, clock)
    app[mandate_person_throttle_key] = person_throttle(db, clock)
    # How a household signed in, for the signed records of its decisions (proxy/portal).
    app[decision_recorder_key] = DecisionRecorder(db)
    settings = app[settings_key]
    url, client_id = settings.oidc_discovery_url, settings.oidc_client_id
    secret = settings.oidc_client_secret
    if not (url and client_id and secret):
        yield
        return
    async with aiohttp.ClientSession() as http:
        app[oidc_client_key] = OidcClient(http, url, client_id, secret,
                                          settings.issuer + "/login/oidc/callback",
                                          now=lambda: clock.now().timestamp())
        yield

"""Wiring of the household portal: its services, once the database and the data path are up.

:func:`setup_portal` appends one ``cleanup_ctx`` after the data proxy's (it needs the data
service's upstreams and access-event sink): the :class:`~proxy.data.household.HouseholdReader`
and the :class:`~consent.claims.ClaimService` over the rules' occupancy service (so consents
and mandates ended by a move-in stop with their tokens, R9).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from consent.claims import ClaimService
from consent.own_access import household_policy
from proxy.data.household import HouseholdReader
from proxy.keys import (
    access_sink_key,
    claim_service_key,
    clock_key,
    data_service_key,
    database_key,
    household_reader_key,
    rules_key,
)


def setup_portal(app: web.Application) -> None:
    """Create the portal's resources on ``app`` (routes: :mod:`proxy.portal.routes`)."""
    app.cleanup_ctx.append(_portal_ctx)


async def _portal_ctx(app: web.Application) -> AsyncIterator[None]:
    db, clock = app[database_key], app[clock_key]
    app[household_reader_key] = HouseholdReader(db, app[data_service_key].upstreams,
                                                app[access_sink_key], clock, household_policy())
    app[claim_service_key] = ClaimService(db, clock, app[rules_key].occupancy)
    yield

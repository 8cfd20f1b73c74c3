"""Wiring of the household portal: its services, once the database and the data path are up.

:func:`setup_portal` appends one ``cleanup_ctx`` after the data proxy's (it needs the data
service's upstreams and access-event sink): the :class:`~proxy.data.household.HouseholdReader`
and the :class:`~consent.claims.ClaimService` (whose occupancy changes go through the consent
service, so consents ended by a move-in revoke their tokens too, R9).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from consent.claims import ClaimService
from consent.own_access import household_policy
from consent.services import OccupancyService
from proxy.data.household import HouseholdReader
from proxy.keys import (
    access_sink_key,
    claim_service_key,
    clock_key,
    consent_service_key,
    data_service_key,
    database_key,
    household_reader_key,
)


def setup_portal(app: web.Application) -> None:
    """Create the portal's resources on ``app`` (routes: :mod:`proxy.portal.routes`)."""
    app.cleanup_ctx.append(_portal_ctx)


async def _portal_ctx(app: web.Application) -> AsyncIterator[None]:
    db, clock = app[database_key], app[clock_key]
    app[household_reader_key] = HouseholdReader(db, app[data_service_key].upstreams,
                                                app[access_sink_key], clock, household_policy())
    occupancy = OccupancyService(db, clock, app[consent_service_key])
    app[claim_service_key] = ClaimService(db, clock, occupancy)
    yield

"""Data Connect v5 measure and customer endpoints, behind Passerelle's checks and evidence.

The token is an app-wide client-credentials token, as in v5: each call names its
``usage_point_id`` and the recipient's consent covering that point is looked up per call (a
consent-bound token also works, restricted to its points). Daily endpoints answer daily values;
load-curve endpoints answer the point's native step, or a denial when the consent does not
release it (never daily values in a curve's place).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from consent.identifiers import PointRef
from consent.periods import DayRange
from consent.vocabulary import Dataset
from proxy.auth import authenticate_bearer
from proxy.compat.enedis import errors, params, wire
from proxy.data.evidence import add_evidenced_get, evidenced
from proxy.data.trace import Trace, asked_window
from proxy.keys import clock_key, data_service_key, web_secret_key
from proxy.native import caller_of
from proxy.verified_token import VerifiedToken

API = "compat/enedis"

Handler = Callable[[web.Request], Awaitable[web.Response]]


async def _caller(request: web.Request, trace: Trace, dataset: Dataset, *,
                  series: bool = False) -> tuple[VerifiedToken, PointRef, DayRange | None]:
    """The verified token, the ``usage_point_id`` and, for a series, the days asked for,
    noted in the trace as they are known; then the request counts against the recipient's
    rate limit (:meth:`~proxy.data.service.DataService.admit`), a malformed one too: over the
    limit, the answer is Data Connect's ``Quota Q3 reached``."""
    token = await authenticate_bearer(request)
    trace.recipient_id, trace.tenant = token.recipient_id, token.tenant_id
    trace.dataset = dataset.value
    days = None
    async with request.app[data_service_key].admitting(token.recipient_id):
        point = params.usage_point(request.query)
        trace.point = str(point)
        if series:
            days = params.day_range(request.query, dataset, request.app[clock_key].now())
            trace.window = asked_window(days)
    return token, point, days


def series_endpoint(dataset: Dataset) -> Handler:
    """The handler of one ``/metering_data_*/v5/*`` path."""
    served = wire.SERVED_RESOLUTION[dataset]

    @evidenced(API, errors.render)
    async def handler(request: web.Request, trace: Trace) -> tuple[Any, int]:
        token, point, days = await _caller(request, trace, dataset, series=True)
        assert days is not None
        series = await request.app[data_service_key].series(
            caller_of(token, request), point, dataset, days, served, trace, native=served is None)
        return wire.meter_reading(series, days.start, days.end), len(series.readings)

    handler.__name__ = f"dc_{dataset.value}"
    return handler


def record_endpoint(dataset: Dataset) -> Handler:
    """The handler of one ``/customers_*/v5/*`` path."""

    @evidenced(API, errors.render)
    async def handler(request: web.Request, trace: Trace) -> tuple[Any, int]:
        token, point, _ = await _caller(request, trace, dataset)
        read = await request.app[data_service_key].record(caller_of(token, request), point,
                                                          dataset, trace)
        return (wire.customer(read.record, token.recipient_id, read.held_since,
                              key=request.app[web_secret_key]), len(read.record.fields))

    handler.__name__ = f"dc_{dataset.value}"
    return handler


def add_compat_routes(app: web.Application, prefix: str = "/compat/enedis") -> None:
    """Register the Data Connect v5 measure and customer paths under ``prefix``."""
    for path, dataset in wire.SERIES_PATHS.items():
        add_evidenced_get(app.router, prefix + path, series_endpoint(dataset),
                          name=f"dc-{dataset.value}", api=API, render_error=errors.render)
    for path, dataset in wire.RECORD_PATHS.items():
        add_evidenced_get(app.router, prefix + path, record_endpoint(dataset),
                          name=f"dc-{dataset.value}", api=API, render_error=errors.render)

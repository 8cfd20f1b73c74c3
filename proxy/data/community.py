"""The community dataset of the native API (PMO, R4).

``GET /api/v1/communities/{community_id}/datasets/{dataset}?start&end[&resolution=P1D]``, with
the organiser app's token. Each current member's series is read exactly as a single read would
be, under that member's own consent to the organiser (every rule of the policy applies to each
one, and each read leaves its own access event), as a part of this community's aggregate: a
member's *community* consent to this community releases it here and nowhere else, an
*individual* consent releases it here as on its own (R4, consent/community_consent.py).
Members whose read is denied or fails are left out; the sum of the others is served only if
at least k households are in it (``R4 community k``).
Another app, or a community of another tenant, is not found.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from consent.access_events import Outcome
from consent.community import aggregate, check_additive
from consent.errors import InvalidPeriod, NotFound, PasserelleError
from consent.models import Community
from consent.periods import DayRange
from consent.readings import Series
from consent.services.communities import current_members
from consent.services.queries import get_row
from consent.vocabulary import Dataset, Resolution
from proxy.auth import authenticate_bearer
from proxy.data.evidence import classify, evidenced, json_bytes, record_trace
from proxy.data.trace import Trace, asked_window
from proxy.keys import clock_key, data_service_key, database_key
from proxy.native import API, caller_of, render_problem


@evidenced(API, render_problem)
async def community_dataset(request: web.Request, trace: Trace) -> tuple[Any, int]:
    """See the module docstring."""
    token = await authenticate_bearer(request)
    trace.recipient_id, trace.tenant = token.recipient_id, token.tenant_id
    caller = caller_of(token, request)
    community_id = request.match_info["community_id"]
    trace.point = f"community:{community_id[:40]}"
    service = request.app[data_service_key]
    # One request, however many members it reads; a malformed one counts too.
    async with service.admitting(token.recipient_id):
        dataset = Dataset.parse(request.match_info["dataset"])
        trace.dataset = dataset.value
        check_additive(dataset)
        days = DayRange.parse(request.query.get("start", ""), request.query.get("end", ""))
        trace.window = asked_window(days)
        resolution = Resolution.parse(request.query.get("resolution") or Resolution.P1D.value)
    async with request.app[database_key].session() as session:
        community = await get_row(session, Community, token.tenant_id, community_id,
                                  "community")
        if community.organiser_id != token.recipient_id:
            raise NotFound(f"No community with id {community_id!r}.", field="community_id")
        members = await current_members(session, token.tenant_id, community.id,
                                        request.app[clock_key].now())
    included: list[tuple[str, Series]] = []
    for member in members:
        read = Trace(api=trace.api, route=trace.route, community_id=community.id)
        try:
            series = await service.series(caller, member.point, dataset, days, resolution, read,
                                          community=community.id)
        except PasserelleError as error:
            outcome, rule = classify(error)
            await record_trace(request, read, status=error.status, body=b"", outcome=outcome,
                               rule=rule, reason=f"community {community.id}: {error.detail}")
            if isinstance(error, InvalidPeriod):
                raise  # the window itself (too long for the DSO): every member's read fails
            continue
        included.append((member.household_id, series))
        await record_trace(request, read, status=200, body=json_bytes(series.to_json()),
                           outcome=Outcome.SERVED, values=len(series.readings),
                           reason=f"member of community {community.id} (aggregated)")
    zone = included[0][1].timezone if included else "UTC"
    result = aggregate(community.id, dataset, resolution, zone, included,
                       community.min_members)
    trace.resolution = resolution.value
    return result.to_json(), len(result.readings)

"""Claiming points through the DSO's own consent page (R15): the upstream authorisation.

``GET /account/claim/upstream?source=enedis`` sends the browser to the DSO's consent page (the
adapter of that source implements :class:`~adapters.base.UpstreamConsentFlow`) with a ``state``
sealed in a cookie bound to this browser. ``GET /account/claim/upstream/callback?code&state``
checks the state, redeems the code with the DSO (server to server: the points consented are
the DSO's word, not the query's), then, for each point, asks the DSO that the operator's
authorisation is active and who the current customer is, and hands the claim to
:class:`~consent.claims.ClaimService` (method ``upstream``), which applies the same rules as a
meter-number claim. Every point's outcome is recorded and logged as evidence.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from adapters.base import UpstreamConsentFlow
from adapters.errors import UpstreamError
from consent.claims import Claimant, DsoFacts
from consent.errors import PasserelleError
from consent.identifiers import PointRef, Source
from consent.models import ClaimMethod
from proxy.keys import adapters_key, claim_service_key, clock_key, settings_key
from proxy.portal import sealed
from proxy.portal.pages import Household, confirm, household_page, log_event
from proxy.web.pages import error_page

COOKIE = "upstream_claim"
CALLBACK = "/account/claim/upstream/callback"


def flows(app: web.Application) -> dict[Source, UpstreamConsentFlow]:
    """The sources whose DSO has its own consent page."""
    return {source: adapter for source, adapter in app[adapters_key].items()
            if isinstance(adapter, UpstreamConsentFlow)}


@household_page
async def start(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/claim/upstream?source=...``."""
    try:
        source = Source(request.query.get("source", ""))
        flow = flows(request.app)[source]
    except (ValueError, KeyError):
        raise web.HTTPNotFound from None
    state = secrets.token_urlsafe(32)
    redirect_uri = request.app[settings_key].issuer + CALLBACK
    response = web.Response(status=303, headers={
        "Location": flow.consent_url(state=state, redirect_uri=redirect_uri)})
    await sealed.seal(request, response, COOKIE, {"state": state, "source": source.value,
                                                  "account": household.account.id},
                      max_age=900)
    return response


@household_page
async def callback(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/claim/upstream/callback``."""
    pending = await sealed.unseal(request, COOKIE)
    code = request.query.get("code", "")
    if (pending is None or pending.get("account") != household.account.id
            or not secrets.compare_digest(str(pending["state"]), request.query.get("state", ""))
            or not code or len(code) > 2048):
        return await error_page(request, "portal.oidc.expired", status=400)
    flow = flows(request.app).get(Source(str(pending["source"])))
    if flow is None:
        raise web.HTTPNotFound
    redirect_uri = request.app[settings_key].issuer + CALLBACK
    try:
        points = await flow.redeem(code, redirect_uri=redirect_uri)
    except PasserelleError:
        return await error_page(request, "portal.err.claim.unavailable", status=502)
    accepted = [ref for ref in points if await _claim(request, household, ref)]
    key = "portal.done.claimed_upstream" if accepted else "portal.err.claim.none"
    response = await confirm(request, "/account", key,
                             points=", ".join(str(p) for p in accepted))
    sealed.drop(response, COOKIE)
    return response


async def _claim(request: web.Request, household: Household, ref: PointRef) -> bool:
    """Check what the DSO says of ``ref`` and record the claim; True if accepted."""
    service = request.app[claim_service_key]
    who = Claimant(household.party_id, household.account.id, household.tenant_id)
    adapter = request.app[adapters_key][ref.source]
    try:
        authorisation = await adapter.authorisation(ref)
        info = await adapter.describe(ref)
        occupants = await adapter.occupancy(ref)
    except UpstreamError:
        await service.refuse(who, str(ref), ClaimMethod.UPSTREAM, "dso unavailable")
        return False
    now = request.app[clock_key].now()
    current = [o for o in occupants if o.period.contains(now)]
    if authorisation is None or not authorisation.state.usable or not current:
        await service.refuse(who, str(ref), ClaimMethod.UPSTREAM, "no active authorisation")
        return False
    validity = authorisation.validity
    result = await service.accept(who, ref, ClaimMethod.UPSTREAM, DsoFacts(
        energy=info.energy, directions=tuple(sorted(info.directions)), timezone=info.timezone,
        customer_since=current[-1].period.start, customer=current[-1].customer,
        upstream_id=authorisation.upstream_id,
        upstream_valid_until=validity.end if validity is not None else None),
        {"upstream": authorisation.upstream_state or authorisation.state.value})
    await log_event(request, household.account, f"point.claim.{result.claim.outcome}",
                    target=str(ref), details={"method": ClaimMethod.UPSTREAM.value,
                                              "reason": result.claim.reason})
    return result.accepted

"""The native data API (``/api/v1``): one normalised JSON shape for every source.

``GET /api/v1/points/{point_id}/datasets/{dataset}?start&end[&resolution]`` answers a
:meth:`~consent.readings.Series.to_json` (or :meth:`~consent.readings.Record.to_json`) object
plus ``consent`` and ``window``; ``GET /api/v1/points`` lists what the token may read and
``GET /api/v1/consents/current`` the consent(s) behind it, both a page of consents at a time
(``after``, ``limit``, ``next``: :mod:`proxy.paging`). Errors are problem+json (RFC 9457);
a consent denial names its ``rule`` and what would be ``allowed``. Every request is evidenced
(:mod:`proxy.data.evidence`).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters.errors import UpstreamError
from consent.access import AccessContext, ReadRequest, TokenGrant, allowed_window
from consent.errors import DomainError, InvalidIdentifier, PasserelleError
from consent.identifiers import PointRef, guess_source
from consent.models import Consent, MeteringPoint
from consent.periods import DayRange
from consent.vocabulary import Dataset, Resolution
from proxy.auth import BearerRecheck, authenticate_bearer
from proxy.data.evidence import Rendered, error_headers, evidenced, json_bytes
from proxy.data.service import Caller
from proxy.data.trace import Trace, asked_window
from proxy.keys import clock_key, data_service_key
from proxy.middlewares import PROBLEM_JSON
from proxy.paging import keyed_page_of
from proxy.verified_token import VerifiedToken

API = "native"
_PASSED_HEADERS = ("Retry-After", "WWW-Authenticate", "Cache-Control", "Allow")


#: What a recipient is told when the data source fails: never the adapter's own words.
_UPSTREAM_DETAIL = {
    502: "The data source answered something Passerelle cannot use.",
    503: "The data source is unavailable or at its request quota; retry later.",
    504: "The data source did not answer in time; retry later.",
}


def render_problem(error: PasserelleError, request: web.Request) -> Rendered:
    """problem+json, with the error's ``Retry-After`` / ``WWW-Authenticate`` headers.

    Upstream failures (5xx) keep their type, status and ``retry_after`` but get Passerelle's
    own sentence: nothing the DSO or the adapter said reaches the recipient.
    """
    headers = {k: v for k, v in error_headers(error).items() if k in _PASSED_HEADERS}
    problem = error.to_problem(instance=request.path)
    if isinstance(error, UpstreamError) and error.status >= 500:
        problem = {k: problem[k] for k in ("type", "title", "status", "instance", "retry_after")
                   if k in problem}
        problem["detail"] = _UPSTREAM_DETAIL.get(error.status, _UPSTREAM_DETAIL[502])
    return Rendered(error.status, json_bytes(problem), PROBLEM_JSON, headers)


def caller_of(token: VerifiedToken, request: web.Request | None = None) -> Caller:
    """The checks' view of a verified token (R6: a consent token is narrowed to its points);
    with ``request``, the token it came in is judged again before data leaves."""
    grant = TokenGrant(
        recipient_id=token.recipient_id, expires_at=token.expires_at, consent_id=token.consent_id,
        points=frozenset(token.points) if token.consent_id is not None else None,
        datasets=token.datasets)
    return Caller(grant, token.tenant_id,
                  BearerRecheck.of(request) if request is not None else None)


def resolve_point(text: str, token: VerifiedToken) -> PointRef:
    """``source:identifier``, or a bare identifier the token names or whose source is certain."""
    if ":" in text:
        return PointRef.parse(text)
    named = [p for p in token.points if p.identifier == text]
    if len(named) == 1:
        return named[0]
    source = guess_source(text)
    if source is None:
        raise InvalidIdentifier(f"Name the point as source:identifier (for example "
                                f"enedis:{text[:18]}): {text[:18]!r} alone is ambiguous.",
                                field="point_id")
    return PointRef(source, text)


async def _caller(request: web.Request, trace: Trace) -> tuple[VerifiedToken, Caller]:
    token = await authenticate_bearer(request)
    trace.recipient_id, trace.tenant = token.recipient_id, token.tenant_id
    trace.consent_id = token.consent_id
    return token, caller_of(token, request)


@evidenced(API, render_problem)
async def read_dataset(request: web.Request, trace: Trace) -> tuple[Any, int]:
    """``GET /api/v1/points/{point_id}/datasets/{dataset}``."""
    token, caller = await _caller(request, trace)
    service = request.app[data_service_key]
    query = request.query
    async with service.admitting(token.recipient_id):  # what was asked, refused or not
        dataset = Dataset.parse(request.match_info["dataset"])
        trace.dataset = dataset.value
        point = resolve_point(request.match_info["point_id"], token)
        trace.point = str(point)
        if not dataset.spec.is_series:
            if "resolution" in query:  # silently ignored, it would look honoured
                raise DomainError(f"{dataset.value} is a record: it has no resolution.",
                                  field="resolution")
        else:
            days = DayRange.parse(query.get("start", ""), query.get("end", ""))
            trace.window = asked_window(days)
            wanted = query.get("resolution")
            resolution = Resolution.parse(wanted) if wanted else None
    if not dataset.spec.is_series:
        record = (await service.record(caller, point, dataset, trace)).record
        return {**record.to_json(), "consent": trace.consent_id}, len(record.fields)
    series = await service.series(caller, point, dataset, days, resolution, trace)
    window = trace.window
    assert window is not None
    assert window.end is not None
    zone = ZoneInfo(series.timezone)
    body = series.to_json()
    body["consent"] = trace.consent_id
    body["window"] = {"start": window.start.astimezone(zone).isoformat(),
                      "end": window.end.astimezone(zone).isoformat()}
    return body, len(series.readings)


def _consent_json(consent: Consent, points: list[MeteringPoint]) -> dict[str, Any]:
    return {
        "id": consent.id, "state": str(consent.state), "purpose": str(consent.purpose),
        "legal_basis": str(consent.legal_basis), "datasets": sorted(consent.datasets),
        "points": [str(p.ref) for p in points], "max_resolution": str(consent.max_resolution),
        "valid_from": consent.valid_from.isoformat(),
        "valid_until": consent.valid_until.isoformat(),
        "data_from": consent.data_from.isoformat() if consent.data_from else None,
        "history_days": consent.history_days,
        "view": str(consent.view), "community": consent.community_id,
    }


async def _consents(request: web.Request, trace: Trace,
                    ) -> tuple[VerifiedToken, Caller, list[tuple[Consent, list[MeteringPoint]]],
                               str | None]:
    """The caller and one page of its consents (``proxy.paging``: by consent), with the
    answer's ``next``."""
    token, caller = await _caller(request, trace)
    page = keyed_page_of(request.query)
    service = request.app[data_service_key]
    await service.admit(token.recipient_id)
    found = await service.facts.consents(
        recipient_id=token.recipient_id, consent_id=token.consent_id,
        at=request.app[clock_key].now(), tenant=caller.tenant, after=page.after,
        limit=page.limit)
    return token, caller, found, page.next([consent.id for consent, _ in found])


async def _data_from(request: web.Request, caller: Caller, consent: Consent, point: PointRef,
                     ) -> str | None:
    """The oldest instant a read of ``point`` under ``consent`` may return now: the consent's
    data window cut to the household's occupancy, the upstream authorisation and the R12
    floor, as a denial's ``allowed.window`` would say (R6, R8); ``None``: nothing now."""
    service = request.app[data_service_key]
    now = request.app[clock_key].now()
    facts = await service.facts.load(recipient_id=caller.grant.recipient_id,
                                     consent_id=consent.id, point=point, at=now,
                                     tenant=caller.tenant)
    read = ReadRequest(point, Dataset.DAILY_CONSUMPTION, now, timezone=facts.timezone,
                       day_start=facts.day_start)
    window = allowed_window(AccessContext(read, caller.grant, facts.consent, facts.facts))
    return window.start.astimezone(facts.timezone).isoformat() if window is not None else None


@evidenced(API, render_problem)
async def list_points(request: web.Request, trace: Trace) -> tuple[Any, int]:
    """``GET /api/v1/points``: every point of a page of the token's consents, with what (the
    consent's datasets narrowed to the token's scope, and to those the point's energy and
    directions can give: a consent on a gas and an electricity point names the maximum power
    for both, only one has it) and from when (:func:`_data_from`)."""
    token, caller, consents, following = await _consents(request, trace)
    points = []
    for consent, rows in consents:
        readable = [d for d in token.datasets if d.value in consent.datasets]
        for point in rows:
            points.append({
                "point": str(point.ref), "consent": consent.id,
                "datasets": sorted(d.value for d in readable if point.can_have(d)),
                "max_resolution": str(consent.max_resolution),
                "access_until": consent.valid_until.isoformat(),
                "data_from": await _data_from(request, caller, consent, point.ref),
                "view": str(consent.view), "community": consent.community_id})
    return {"points": points, "next": following}, len(points)


@evidenced(API, render_problem)
async def current_consents(request: web.Request, trace: Trace) -> tuple[Any, int]:
    """``GET /api/v1/consents/current``: the token's consent (a page of all in force, for an
    app-wide token)."""
    _token, _caller, found, following = await _consents(request, trace)
    consents = [_consent_json(c, refs) for c, refs in found]
    return {"consents": consents, "next": following}, len(consents)

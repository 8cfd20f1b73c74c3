"""The household's consent at Enedis ("upstream authorisation"), Data Connect 2026 and v1/v5.

1. :func:`authorize_url`: the consent page, v2 (2026) or v1, with ``client_id``,
   ``response_type=code``, ``state`` (at most 100 characters; we send 43 random ones) and
   ``duration`` in days, at most ``P1095D`` (three years).
2. :func:`parse_callback`: the redirect back. v2 brings ``autorisation_id``; v1 brings
   ``usage_point_id`` (several PRMs joined by ``,`` or ``;``). Errors come as ``error`` +
   ``error_description`` and without ``state``; a success must echo our ``state`` (compared in
   constant time, RFC 6749 §10.12).
3. :func:`authorisations`: ``POST /subscribed_services/v1`` with ``{"autorisationId",
   "comptage": false}``, every state asked for explicitly (the API's default filter hides
   TERMINE and SUPPRIME), every page read: one :class:`~adapters.base.UpstreamAuthorisation`
   per point, with the services' period and state. Re-checking on a schedule is calling it
   again (:meth:`adapters.enedis.EnedisAdapter.recheck`).

Which autorisation covers which PRM is kept in an :class:`AuthorisationDirectory` (the proxy's
database; :class:`InMemoryDirectory` here), since the 2026 API is queried by autorisation.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol, runtime_checkable
from urllib.parse import urlencode

from adapters.base import UpstreamAuthorisation
from adapters.decode import Doc
from adapters.enedis.config import MAX_CONSENT
from adapters.enedis.measures import decode
from adapters.enedis.vocabulary import ALL_SERVICE_STATES, API_SERVICES, SERVICE_STATES
from adapters.errors import UpstreamDenied, UpstreamError, UpstreamUnavailable
from adapters.timekeeping import at_hour
from adapters.transport import UpstreamTransport
from consent.errors import DomainError, InvalidPeriod
from consent.identifiers import PointRef, Source
from consent.numbers import whole_number
from consent.periods import Period
from consent.vocabulary import Dataset

#: ``mesuresTypeCode`` x direction -> datasets the service gives access to.
SERVICE_DATASETS: dict[tuple[str, bool], tuple[Dataset, ...]] = {
    ("ENERGIE", True): (Dataset.DAILY_CONSUMPTION,),
    ("ENERGIE", False): (Dataset.DAILY_PRODUCTION,),
    ("CDC", True): (Dataset.CONSUMPTION_LOAD_CURVE,),
    ("CDC", False): (Dataset.PRODUCTION_LOAD_CURVE,),
    ("PMAX", True): (Dataset.DAILY_MAX_POWER,),
    ("IDX", True): (Dataset.CONSUMPTION_INDEX,),
    ("IDX", False): (Dataset.PRODUCTION_INDEX,),
    ("ITC", True): (Dataset.CONTRACT, Dataset.IDENTITY, Dataset.CONTACT, Dataset.ADDRESS),
    ("ITC", False): (Dataset.CONTRACT, Dataset.IDENTITY, Dataset.CONTACT, Dataset.ADDRESS),
}
_MAX_PAGES = 50
#: Which state wins when a point's services disagree: the most usable one.
_PRECEDENCE = ("ACTIF", "DEMANDE", "TERMINE", "SUPPRIME")


@dataclass(frozen=True, slots=True)
class KnownAuthorisation:
    """What the proxy recorded about a point's upstream authorisation."""

    upstream_id: str
    validity: Period | None = None


@runtime_checkable
class AuthorisationDirectory(Protocol):
    """Which Enedis authorisation covers which PRM, as the proxy recorded it."""

    async def lookup(self, point: PointRef) -> KnownAuthorisation | None:
        """The authorisation last recorded for ``point``."""
        ...

    async def remember(self, point: PointRef, upstream_id: str,
                       validity: Period | None = None) -> None:
        """Record that ``upstream_id`` (valid over ``validity`` when known) covers ``point``."""
        ...


class InMemoryDirectory:
    """An :class:`AuthorisationDirectory` in a dict (tests, single-process demos)."""

    def __init__(self) -> None:
        self._known: dict[PointRef, KnownAuthorisation] = {}

    async def lookup(self, point: PointRef) -> KnownAuthorisation | None:
        return self._known.get(point)

    async def remember(self, point: PointRef, upstream_id: str,
                       validity: Period | None = None) -> None:
        self._known[point] = KnownAuthorisation(upstream_id, validity)


def new_state() -> str:
    """A fresh ``state`` value: 32 random bytes, 43 URL-safe characters (within 32-100)."""
    return secrets.token_urlsafe(32)


def authorize_url(consent_host: str, client_id: str, state: str, duration: timedelta, *,
                  version: str = "v2") -> str:
    """The consent page URL; ``duration`` is whole days, at most three years (``P1095D``)."""
    if version not in ("v1", "v2"):
        raise DomainError("The Enedis consent page is v1 or v2.", field="version")
    days = duration.days
    if duration != timedelta(days=days) or not 1 <= days <= MAX_CONSENT.days:
        raise InvalidPeriod("An Enedis consent lasts whole days, from 1 to 1095 (three years).",
                            field="duration")
    if not 1 <= len(state) <= 100:
        raise DomainError("The consent state has 1 to 100 characters.", field="state")
    query = urlencode({"client_id": client_id, "response_type": "code", "state": state,
                       "duration": f"P{days}D"})
    return f"{consent_host.rstrip('/')}/dataconnect/{version}/oauth2/authorize?{query}"


@dataclass(frozen=True, slots=True)
class Callback:
    """What the consent page sent back: an autorisation (v2) or the PRMs themselves (v1)."""

    autorisation_id: str | None
    points: tuple[PointRef, ...]


def parse_callback(query: Mapping[str, str], expected_state: str) -> Callback:
    """Read the redirect; errors become adapter errors, a wrong ``state`` a domain error."""
    error = query.get("error")
    if error is not None:
        if error == "access_denied":
            raise UpstreamDenied("The household refused the consent on the Enedis page.",
                                 upstream_code=error)
        if error == "server_error":
            raise UpstreamUnavailable("The Enedis consent page failed; try again later.",
                                      upstream_code=error)
        raise UpstreamError(f"The Enedis consent page refused our request ({error[:40]}).",
                            upstream_code=error)
    state = query.get("state", "")
    if not secrets.compare_digest(state.encode(), expected_state.encode()):
        raise DomainError("This consent callback does not answer our request (state).",
                          field="state")
    autorisation = query.get("autorisation_id")
    if autorisation is not None:
        if whole_number(autorisation, max_digits=19) is None:
            raise DomainError("autorisation_id is not an Enedis autorisation number.",
                              field="autorisation_id")
        return Callback(autorisation, ())
    prms = [p for p in query.get("usage_point_id", "").replace(";", ",").split(",") if p]
    if not prms:
        raise DomainError("The callback names neither an autorisation nor a PRM.",
                          field="usage_point_id")
    return Callback(None, tuple(PointRef(Source.ENEDIS, p) for p in dict.fromkeys(prms)))


@dataclass(frozen=True, slots=True)
class Service:
    """One subscribed service of one point."""

    point: PointRef
    state: str
    datasets: tuple[Dataset, ...]
    step: str
    period: Period


def _service(item: Doc, autorisation_id: str, zone: str) -> Service:
    owner = item["autorisation"]["autorisationId"]
    if owner.value != int(autorisation_id):
        raise owner.fail(f"the autorisation asked for ({autorisation_id})")
    state = item["etatCode"].text()
    if state not in SERVICE_STATES:
        raise item["etatCode"].fail("one of " + ", ".join(SERVICE_STATES))
    soutirage, injection = item["soutirage"].boolean(), item["injection"].boolean()
    kind = item["mesuresTypeCode"].text()
    datasets = SERVICE_DATASETS.get((kind, soutirage and not injection), ())
    start, end = item["dateDebut"].day(), item["dateFin"].day()
    # A service that ended the day it began keeps a one-day validity (a period cannot be empty).
    end = max(end, start + timedelta(days=1))
    prm = item["pointId"].text()
    return Service(PointRef(Source.ENEDIS, prm), state, datasets,
                   item["mesuresPas"].text(), Period(at_hour(start, zone), at_hour(end, zone)))


async def services(transport: UpstreamTransport, autorisation_id: str,
                   zone: str) -> list[Service]:
    """Every service of the autorisation, in every state, over every page.

    The page numbering is not documented: the first call names no page (the server's first,
    whatever its base), then pages 1, 2... follow; services are kept by ``id``, so a page read
    twice adds nothing, and reading stops once ``nbTotalServices`` are seen or two pages in a
    row brought nothing new."""
    seen: dict[str, Service] = {}
    total, idle = 0, 0
    for page in (None, *range(1, _MAX_PAGES)):
        body: dict[str, object] = {"autorisationId": int(autorisation_id), "comptage": False,
                                   "etatCode": list(ALL_SERVICE_STATES)}
        if page is not None:
            body["page"] = page
        reply = await transport.request("POST", "/subscribed_services/v1", api=API_SERVICES,
                                        json=body, safe=True)
        doc = decode(reply)
        total = doc["nbTotalServices"].integer()
        batch = doc.get("serviceSouscrit")
        before = len(seen)
        for item in [] if batch.is_null else batch.items():
            seen.setdefault(item["id"].text(), _service(item, autorisation_id, zone))
        idle = idle + 1 if len(seen) == before else 0
        if len(seen) >= total or idle == 2:
            break
    if len(seen) < total:
        raise Doc(total, "nbTotalServices").fail(f"{len(seen)} services (the pages ran out)")
    return list(seen.values())


def summarise(point: PointRef, autorisation_id: str,
              of_point: list[Service]) -> UpstreamAuthorisation:
    """One point's authorisation from its services (at least one): the most usable state
    wins."""
    best = min(of_point, key=lambda s: _PRECEDENCE.index(s.state))
    chosen = [s for s in of_point if s.state == best.state]
    start = min(s.period.start for s in chosen)
    end = max(s.period.end for s in chosen if s.period.end is not None)
    return UpstreamAuthorisation(point, SERVICE_STATES[best.state], autorisation_id,
                                 Period(start, end), best.state)


def by_point(found: list[Service]) -> dict[PointRef, list[Service]]:
    grouped: dict[PointRef, list[Service]] = {}
    for service in found:
        grouped.setdefault(service.point, []).append(service)
    return grouped


def today_validity(day: date, days: int, zone: str) -> Period:
    """The validity of a v1 consent given on ``day`` for ``days`` (v1 has no state API)."""
    return Period(at_hour(day, zone), at_hour(day + timedelta(days=days), zone))

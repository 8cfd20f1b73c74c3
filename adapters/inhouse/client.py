"""``InhouseClient``: the :class:`~adapters.base.MeterDataAdapter` speaking the in-house DSO API.

It talks to any server implementing ``docs/inhouse-dso-api.md`` (the simulator's, or a DSO's own)
over a borrowed :class:`aiohttp.ClientSession`. Every call has a total timeout; every foreign
failure becomes one class of :mod:`adapters.errors` at this boundary: aiohttp and socket errors,
timeouts, non-JSON or truncated bodies, wrong shapes (naming the member), documented problem
codes. The bearer token (client credentials, RFC 6749 §4.4) is cached and renewed a minute before
it expires, and once more if the server rejects it; a shared :class:`TokenStore` lets replicas
use one token instead of fetching one each.

Quotas: every API request takes a turn from :attr:`InhouseClient.limiter` under the quotas the
server announces (``GET /capabilities``), in the bucket of its route family when a quota counts
per API; a 429 holds that bucket for its ``Retry-After``. Not counted: the capabilities
themselves (once per process: they carry the quotas), the token endpoint and the unauthenticated
health probe, which are not data routes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import aiohttp
import orjson

from adapters.base import (
    Capabilities,
    Health,
    HealthState,
    Occupancy,
    PointInfo,
    PortAction,
    PortRequest,
    PortStatus,
    UpstreamAuthorisation,
)
from adapters.bodies import read_answer
from adapters.errors import (
    ERRORS_BY_CODE,
    NotYetAvailable,
    PeriodNotServed,
    UpstreamCredentialsRejected,
    UpstreamError,
    UpstreamMalformed,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.inhouse import parse
from adapters.inhouse.decode import Doc
from adapters.inhouse.wire import API_PREFIX, ROUTE_FAMILIES, route_family
from adapters.limiter import FairLimiter
from adapters.quota import (
    QuotaPlan,
    UpstreamLimiter,
    current_recipient,
    exchange_sent,
    heed,
)
from adapters.retry_after import retry_after_seconds
from adapters.tokens import ClientCredentials
from consent.clock import Clock, SystemClock
from consent.errors import Conflict, NotFound, PasserelleError
from consent.identifiers import PointRef
from consent.periods import Period
from consent.readings import Reading, Record, Series
from consent.shared_state.tokens import TokenStore
from consent.vocabulary import Dataset, Resolution

T = TypeVar("T")

#: Problem codes the server may send that belong to the consent tree, not the adapter tree.
_DOMAIN_CODES: dict[str, type[PasserelleError]] = {"not-found": NotFound, "conflict": Conflict}
_RENEW_BEFORE = timedelta(seconds=60)


def _error_from_problem(status: int, doc: Any, retry_after: int | None) -> PasserelleError:
    """The adapter error for a problem+json answer (unknown codes fall back on the status)."""
    code = doc.get("code") if isinstance(doc, dict) else None
    if status == 429:
        return UpstreamRateLimited("The DSO's quota is reached.", retry_after=retry_after)
    cls = ERRORS_BY_CODE.get(code) if isinstance(code, str) else None
    # Our own sentence, never the DSO's ``detail``: whatever it says (paths, connection
    # strings, another customer's name) must not reach a recipient (adapters/errors.py).
    text = f"The DSO answered HTTP {status}: {cls.title.lower()}." if cls is not None \
        else f"The DSO answered HTTP {status}."
    if cls is not None and issubclass(cls, PeriodNotServed):
        available = None
        with contextlib.suppress(UpstreamMalformed):  # the bounds are a courtesy, not the error
            available = Doc(doc.get("available"), "available").optional_period()
        return cls(text, available=available)
    if cls is not None and issubclass(cls, UpstreamUnavailable):
        return cls(text, retry_after=retry_after)
    if cls is not None and cls is not UpstreamMalformed:
        return cls(text)
    if isinstance(code, str) and code in _DOMAIN_CODES:
        return _DOMAIN_CODES[code](text)
    if status in (500, 502, 503):
        return UpstreamUnavailable(f"The DSO failed (HTTP {status}).", retry_after=retry_after)
    if status == 504:
        return UpstreamTimeout("The DSO timed out (HTTP 504).")
    return UpstreamError(f"The DSO refused the request (HTTP {status}).")


class InhouseClient:
    """An adapter for one in-house DSO at ``base_url``; ``timeout`` bounds each HTTP call (s)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, client_id: str,
                 client_secret: str, *, timeout: float = 10.0, clock: Clock | None = None,
                 tokens: TokenStore | None = None, limiter: UpstreamLimiter | None = None,
                 ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock or SystemClock()
        # The application token, HTTP Basic with id and secret form-encoded (RFC 6749 §2.3.1).
        self.token = ClientCredentials(session, self._base + "/oauth/token", client_id,
                                       client_secret, cache=tokens, clock=self._clock,
                                       renew_before=_RENEW_BEFORE, timeout=timeout)
        self._capabilities: Capabilities | None = None
        self._plan: QuotaPlan | None = None
        self.limiter = limiter or FairLimiter()
        self.application = f"inhouse:{client_id}@{urlsplit(self._base).netloc}"

    # ---- transport -----------------------------------------------------------------------

    async def _send(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any, int | None]:
        """One HTTP exchange: status, decoded JSON body, Retry-After seconds."""
        try:
            # No redirect followed: each exchange is one the limiter counted.
            async with self._session.request(method, url, timeout=self._timeout,
                                             allow_redirects=False, **kwargs) as response:
                raw = await read_answer(response)
                retry = retry_after_seconds(response.headers.get("Retry-After", ""),
                                            response.headers.get("Date"))
                status = response.status
        except TimeoutError:
            raise UpstreamTimeout("The DSO did not answer in time.") from None
        except aiohttp.ClientPayloadError:
            raise UpstreamMalformed("The DSO's answer was cut short.", field="body") from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"The DSO could not be reached ({type(exc).__name__})."
                                      ) from None
        try:
            body = orjson.loads(raw) if raw else None
        except ValueError:  # orjson's depth limit included: no RecursionError
            if 200 <= status < 300:
                raise UpstreamMalformed("The DSO's answer is not JSON (truncated or garbled).",
                                        field="body") from None
            # An error page (a gateway's HTML, a 429 in plain text): its status and its
            # Retry-After say what happened, and a 429 must still hold the quota.
            body = None
        return status, body, retry

    async def _bearer(self, refused: str | None = None) -> str:
        """The application token (:class:`~adapters.tokens.ClientCredentials`: shared by the
        replicas, renewed a minute ahead, a failed token endpoint held); ``refused`` is a
        token the server just rejected, dropped everywhere first."""
        if refused is not None:
            await self.token.refused(refused)
        return await self.token.bearer()

    async def _quota_plan(self) -> QuotaPlan:
        if self._plan is None:
            quotas = (await self.capabilities()).quotas
            self._plan = QuotaPlan(self.application, quotas, ROUTE_FAMILIES)
        return self._plan

    async def _get(self, path: str, *, method: str = "GET", expect: int = 200,
                   limited: bool = True, **kwargs: Any) -> Doc:
        """An authenticated API call; the JSON answer as a :class:`Doc`, or the mapped error.
        Each exchange takes a turn from the limiter unless ``limited`` is false."""
        url = self._base + API_PREFIX + path
        plan, family = (await self._quota_plan() if limited else None), route_family(path)
        refused: str | None = None
        for _attempt in range(2):
            token = await self._bearer(refused)
            headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
            if plan is not None:
                await self.limiter.acquire(plan, family, current_recipient())
            exchange_sent()
            status, body, retry = await self._send(method, url, headers=headers, **kwargs)
            if status != 401:
                break
            refused = token
        else:
            raise UpstreamCredentialsRejected("The DSO keeps refusing the operator's token.")
        error = _error_from_problem(status, body, retry) if status != expect else None
        if plan is not None:  # the DSO's word beats our count
            await heed(self.limiter, plan, family, error)
        if error is not None:
            raise error
        return Doc(body)

    async def _parsed(self, path: str, reader: Callable[[Doc], T], **kwargs: Any) -> T:
        return reader(await self._get(path, **kwargs))

    # ---- the adapter ---------------------------------------------------------------------

    async def capabilities(self) -> Capabilities:
        if self._capabilities is None:
            self._capabilities = await self._parsed("/capabilities", parse.capabilities,
                                                    limited=False)
        return self._capabilities

    async def describe(self, point: PointRef) -> PointInfo:
        return await self._parsed(f"/points/{point}", lambda d: parse.point_info(d, point))

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        if period.end is None:
            raise NotYetAvailable("An open period reaches beyond the last published day.")
        window = (await self.capabilities()).limits(dataset).max_window
        chunks, start = [], period.start
        while start < period.end:
            end = min(start + window, period.end) if window is not None else period.end
            chunks.append(Period(start, end))
            start = end
        zone, readings = "UTC", list[Reading]()
        for chunk in chunks:
            params = {"start": chunk.start.isoformat(), "end": (chunk.end or chunk.start)
                      .isoformat(), "resolution": resolution.value}
            doc = await self._get(f"/points/{point}/series/{dataset.value}", params=params)
            zone, part = parse.readings(doc, point, dataset, resolution, chunk)
            if readings and part and part[0].start < readings[-1].end:
                raise UpstreamMalformed("Two calls returned overlapping readings.",
                                        field="values[0].start")
            readings += part
        return Series(point, dataset, dataset.spec.unit or "", resolution, zone,
                      tuple(readings))

    async def record(self, point: PointRef, dataset: Dataset) -> Record:
        return await self._parsed(f"/points/{point}/records/{dataset.value}",
                                  lambda d: parse.record(d, point, dataset))

    async def authorisation(self, point: PointRef) -> UpstreamAuthorisation | None:
        return await self._parsed(f"/points/{point}/authorisation",
                                  lambda d: parse.authorisation(d, point))

    async def occupancy(self, point: PointRef) -> tuple[Occupancy, ...]:
        return await self._parsed(f"/points/{point}/occupancy",
                                  lambda d: parse.occupancy(d, point))

    async def port_state(self, point: PointRef) -> PortStatus:
        return await self._parsed(f"/points/{point}/port", lambda d: parse.port_status(d, point))

    async def request_port(self, point: PointRef, action: PortAction) -> PortRequest:
        return await self._parsed(f"/points/{point}/port/requests",
                                  lambda d: parse.port_request(d, point), method="POST",
                                  expect=202, json={"action": action.value})

    async def port_request(self, point: PointRef, request_id: str) -> PortRequest:
        return await self._parsed(f"/points/{point}/port/requests/{quote(request_id, safe='')}",
                                  lambda d: parse.port_request(d, point))

    async def check_meter_number(self, point: PointRef, meter_number: str) -> bool:
        def read(doc: Doc) -> bool:
            doc["point"].equals(str(point))
            return doc["match"].boolean()

        return await self._parsed(f"/points/{point}/meter-number/check", read, method="POST",
                                  json={"meter_number": meter_number[:64]})

    async def health(self) -> Health:
        try:
            status, _, _ = await self._send("GET", self._base + API_PREFIX + "/health")
        except UpstreamError as error:
            return Health(HealthState.DOWN, error.title, self._clock.now())
        state = HealthState.OK if status == 200 else HealthState.DEGRADED
        return Health(state, f"HTTP {status}", self._clock.now())

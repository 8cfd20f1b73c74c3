"""Every data request leaves an access event, durable before its answer is sent (R16).

:func:`evidenced` wraps a data handler. The handler fills a :class:`Trace` (who, which consent,
point, dataset, window, what the upstream cost) and returns a JSON payload plus the number of
values, or raises from the error tree. The wrapper renders the exact body bytes (the API's own
error format on failure), hashes them, appends the :class:`~consent.access_events.AccessEvent`
to the sink and waits for it to be committed, then sends those same bytes. If the event cannot
be made durable, nothing is sent but a 500: no data leaves without its trace.

A request whose handler is cancelled because its client went away (aiohttp's
``handler_cancellation``, which its test server turns on) still leaves its event, with status
:data:`CLIENT_GONE` and what the handler had done by then (the DSO calls it had made), before
the cancellation goes on: R16 counts every request, answered or not.

A request that fails naming nobody (no valid token) is also held to its client address's limit
(:mod:`proxy.data.address_limit`): past it, its answer is a 429 and, instead of its own event,
it is counted in one summary event per address and minute; an address past its limit is refused
before the handler runs, so before its token is looked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from consent.access_events import AccessEvent, Outcome
from consent.errors import AccessDenied, DomainError, MethodNotAllowed, PasserelleError
from consent.storage.database import DatabaseUnavailable, is_outage
from proxy.data.address_limit import AddressLimit
from proxy.data.trace import Trace
from proxy.keys import access_sink_key, address_limit_key, clock_key, request_id_key
from proxy.middlewares import refuse_nul, refuses_nul_itself

log = logging.getLogger("passerelle.data")

#: The status an access event records for a request its client abandoned before the answer
#: (nginx's "499 Client Closed Request": nothing was sent, the body hashed is empty).
CLIENT_GONE = 499
#: Its reason: most often the client left; a server stopping cancels requests in flight too.
ABANDONED = ("The request was abandoned before its answer was ready (its client left, or the "
             "server is stopping).")


@dataclass(frozen=True, slots=True)
class Rendered:
    """An answer ready to send: status, body bytes, content type, extra headers."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


#: Render an error in the API's own format (problem+json, Data Connect body...).
ErrorRenderer = Callable[[PasserelleError, web.Request], Rendered]
#: A data handler: fills the trace, returns (JSON payload, number of values).
DataHandler = Callable[[web.Request, Trace], Awaitable[tuple[Any, int]]]


def error_headers(error: PasserelleError) -> dict[str, str]:
    """Headers an error asks for (``Retry-After``, ``WWW-Authenticate``...)."""
    method = getattr(error, "response_headers", None)
    if callable(method):
        headers: dict[str, str] = method()
        return headers
    return dict(getattr(error, "headers", None) or {})


def classify(error: PasserelleError) -> tuple[Outcome, str | None]:
    """The outcome of a failed request and the rule that decided it, if a rule did."""
    if isinstance(error, AccessDenied):
        return Outcome.DENIED, error.rule
    if error.status == 401:
        return Outcome.DENIED, "R6 token"
    if error.status == 429:
        return Outcome.DENIED, "rate limit"
    if error.code == "upstream-authorisation":
        return Outcome.DENIED, "upstream authorisation"
    if error.status == 403:
        return Outcome.DENIED, "R6 token"
    if isinstance(error, DomainError) or error.status < 500:
        return Outcome.INVALID, None
    return Outcome.FAILED, None


def refuse_repeated(request: web.Request) -> None:
    """A query parameter given twice (``start=...&start=...``) is a :class:`DomainError`:
    which one the caller meant is not ours to guess, and whichever we took, the access event
    would record a window the caller may not have asked for."""
    repeated = sorted(name for name, n in Counter(k for k, _ in request.query.items()).items()
                      if n > 1)
    if repeated:
        raise DomainError(f"The query parameter {repeated[0]!r} is given more than once.",
                          field=repeated[0])


def json_bytes(payload: Any) -> bytes:
    """Compact UTF-8 JSON: the bytes that are hashed are the bytes that are sent (orjson:
    the same bytes as ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``, ~20x
    faster, which counts for a month of half-hourly values)."""
    return orjson.dumps(payload)


def evidenced(api: str, render_error: ErrorRenderer,
              ) -> Callable[[DataHandler], Callable[[web.Request], Awaitable[web.Response]]]:
    """Decorate a data handler so that each of its requests is evidenced (module docstring)."""

    def decorate(handler: DataHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapper(request: web.Request) -> web.Response:
            route = request.match_info.route.resource
            trace = Trace(api=api, route=route.canonical if route is not None else request.path)
            rule: str | None = None
            reason: str | None = None
            values = 0
            limit = request.app.get(address_limit_key)
            try:
                if limit is not None and (refused := limit.refusal(request)) is not None:
                    answer = render_error(refused, request)  # before anything reads the token
                    return _tallied(limit, request, trace, answer)
                refuse_nul(request)  # here rather than in the guard: evidenced, API's shape
                refuse_repeated(request)
                payload, values = await handler(request, trace)
                answer = Rendered(200, json_bytes(payload), "application/json")
                outcome = Outcome.SERVED
            except asyncio.CancelledError:
                await _record_abandoned(request, trace, limit)
                raise
            except PasserelleError as error:
                answer = render_error(error, request)
                outcome, rule = classify(error)
                reason = error.detail
            except Exception as error:
                internal = PasserelleError("An unexpected error occurred; it has been logged.")
                if is_outage(error):  # a 503 the recipient may retry, not a bug of ours
                    internal = DatabaseUnavailable("The database is unavailable for a moment; "
                                                   "retry shortly.")
                else:
                    log.exception("data request failed on %s", request.path)
                answer = render_error(internal, request)
                outcome, reason = Outcome.FAILED, internal.title.lower()
            if limit is not None and _names_nobody(trace, answer.status):
                over = await limit.spend(request)
                if over is not None:  # past the limit: a 429, tallied instead of evidenced
                    return _tallied(limit, request, trace, render_error(over, request))
            await _record(request, trace, answer, outcome, rule, reason, values)
            return _response(answer)

        wrapper.__name__ = handler.__name__
        wrapper.__doc__ = handler.__doc__
        return refuses_nul_itself(wrapper)

    return decorate


def _names_nobody(trace: Trace, status: int) -> bool:
    """True for a request refused (4xx: the client's doing) before any token named its
    recipient: what the address limit counts (:mod:`proxy.data.address_limit`)."""
    return trace.recipient_id is None and 400 <= status < 500


def _tallied(limit: AddressLimit, request: web.Request, trace: Trace,
             answer: Rendered) -> web.Response:
    """Send ``answer`` (a 429), counted in its address's summary event instead of its own."""
    limit.tally(request, trace.api, trace.route, answer.body, request.get(request_id_key, ""))
    return _response(answer)


def _response(answer: Rendered) -> web.Response:
    return web.Response(body=answer.body, status=answer.status,
                        content_type=answer.content_type, headers=answer.headers)


#: The methods a data path answers (HEAD: aiohttp's, for every GET route).
DATA_METHODS = "GET, HEAD"


def add_evidenced_get(router: web.UrlDispatcher, path: str,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]], *,
                      name: str, api: str, render_error: ErrorRenderer) -> None:
    """Route GET (and HEAD) of ``path`` to ``handler``, an :func:`evidenced` one; any other
    method is refused with 405 by an evidenced handler of the same API, so that the attempt
    leaves its access event too (R16: every request to a data path, served or not)."""
    router.add_get(path, handler, name=name)

    @evidenced(api, render_error)
    async def other_method(request: web.Request, trace: Trace) -> tuple[Any, int]:
        raise MethodNotAllowed(f"{request.method[:16]} is not allowed here; use GET.",
                               allow=DATA_METHODS)

    router.add_route("*", path, other_method)


async def _record_abandoned(request: web.Request, trace: Trace,
                            limit: AddressLimit | None = None) -> None:
    """The event of a request cancelled in its handler (module docstring). The append runs in a
    task of its own and is waited for shielded: a second cancellation (the server shutting
    down) stops the waiting, not the append. One that names nobody spends its address's turn
    first, as if refused (a client leaving is no way round the limit): past the limit it is
    tallied instead."""
    append = asyncio.ensure_future(_abandoned(request, trace, limit))
    append.add_done_callback(_log_failed_append)
    _ABANDONED.add(append)  # the loop holds tasks weakly: keep it until it is done
    append.add_done_callback(_ABANDONED.discard)
    with contextlib.suppress(asyncio.CancelledError, Exception):  # logged by the callback
        await asyncio.shield(append)


async def _abandoned(request: web.Request, trace: Trace, limit: AddressLimit | None) -> None:
    if limit is not None and trace.recipient_id is None \
            and await limit.spend(request) is not None:
        limit.tally(request, trace.api, trace.route, b"", request.get(request_id_key, ""))
        return
    await record_trace(request, trace, status=CLIENT_GONE, body=b"", outcome=Outcome.FAILED,
                       reason=ABANDONED)


#: The appends of abandoned requests' events still running (:func:`_record_abandoned`).
_ABANDONED: set[asyncio.Future[None]] = set()


def _log_failed_append(append: asyncio.Future[None]) -> None:
    if not append.cancelled() and append.exception() is not None:
        log.error("the access event of an abandoned request could not be made durable",
                  exc_info=append.exception())


async def _record(request: web.Request, trace: Trace, answer: Rendered, outcome: Outcome,
                  rule: str | None, reason: str | None, values: int) -> None:
    """The event of an answered request: the body it carries, none for a HEAD (RFC 9110
    §9.3.2: its headers only; aiohttp drops the body), whose event then says that no byte
    and no value left, whatever a GET would have sent."""
    head = request.method == "HEAD"
    await record_trace(request, trace, status=answer.status,
                       body=b"" if head else answer.body, outcome=outcome, rule=rule,
                       reason=reason, values=0 if head else values)


async def record_trace(request: web.Request, trace: Trace, *, status: int, body: bytes,
                       outcome: Outcome, rule: str | None = None, reason: str | None = None,
                       values: int = 0) -> None:
    """Append the access event of ``trace`` and wait until it is durable (also used for the
    member reads behind a community aggregate, whose own body is never sent)."""
    window = trace.window
    event = AccessEvent(
        at=trace.decided_at if outcome is Outcome.SERVED and trace.decided_at is not None
        else request.app[clock_key].now(),
        request_id=request.get(request_id_key, ""),
        api=trace.api, route=trace.route, outcome=outcome, status=status,
        body_sha256=hashlib.sha256(body).hexdigest(),
        recipient_id=trace.recipient_id, consent_id=trace.consent_id,
        mandate_id=trace.mandate_id, point=trace.point,
        dataset=trace.dataset,
        window_start=window.start if window is not None else None,
        window_end=window.end if window is not None else None,
        resolution=trace.resolution, rule=rule,
        reason=reason[:500] if reason else None, values=values,
        upstream_calls=trace.report.upstream_calls, cache_days=trace.report.cache_days,
        upstream=tuple(trace.report.calls), tenant_id=trace.tenant,
        community_id=trace.community_id,
    )
    await request.app[access_sink_key].append(event)

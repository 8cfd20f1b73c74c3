"""Middlewares, one concern each: request id; error tree -> problem+json; NUL refused."""

from __future__ import annotations

import functools
import logging
import secrets
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from consent.errors import DomainError, PasserelleError
from consent.storage.database import DatabaseUnavailable, is_outage
from proxy.errors import BearerError, InvalidRequest, OAuthError
from proxy.keys import request_id_key
from proxy.logging_setup import request_id_var

log = logging.getLogger("passerelle.http")

PROBLEM_JSON = "application/problem+json"
_H = TypeVar("_H")


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id (echoed in ``X-Request-Id``) for logs and evidence."""
    rid = secrets.token_hex(8)
    request[request_id_key] = rid
    request_id_var.set(rid)  # for every log line of this request (one task per request)
    response = await handler(request)
    response.headers["X-Request-Id"] = rid
    return response


def problem_response(error: PasserelleError, request: web.Request) -> web.Response:
    """Render ``error`` as RFC 9457 problem+json."""
    return web.json_response(
        error.to_problem(instance=request.path),
        status=error.status,
        content_type=PROBLEM_JSON,
        headers=getattr(error, "headers", None),
    )


def bearer_problems(handler: Handler) -> Handler:
    """``handler`` answering its bearer-token errors (:class:`~proxy.errors.BearerError`) as
    RFC 9457 problem+json with their RFC 6750 ``WWW-Authenticate`` challenge, like every other
    error of the staff, admin and audit APIs (the error middleware renders OAuth errors as RFC
    6749 JSON, the token endpoint's shape, which these APIs do not speak)."""
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BearerError as error:
            return web.json_response(error.to_problem(instance=request.path),
                                     status=error.status, content_type=PROBLEM_JSON,
                                     headers=error.response_headers())
    return wrapped


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Translate the error tree (and stray exceptions) into problem+json; never leak a trace."""
    try:
        return await handler(request)
    except OAuthError as error:  # RFC 6749 §5.2 / RFC 6750 §3 bodies and challenges
        return error.to_response()
    except PasserelleError as error:
        return problem_response(error, request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {
            "type": "about:blank",
            "title": exc.reason,
            "status": exc.status,
            "detail": exc.text if exc.text and exc.text != f"{exc.status}: {exc.reason}"
            else exc.reason,
        }
        return web.json_response(body, status=exc.status, content_type=PROBLEM_JSON,
                                 headers={k: v for k, v in exc.headers.items()
                                          if k.lower() in {"allow", "retry-after"}})
    except Exception as error:
        if is_outage(error):  # PostgreSQL restarting or failing over: 503, logged briefly
            log.warning("database unavailable on %s %s: %s", request.method, request.path,
                        type(error).__name__)
            return problem_response(DatabaseUnavailable(
                "The database is unavailable for a moment; retry shortly."), request)
        log.exception("unhandled error on %s %s", request.method, request.path)
        body = {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                "detail": "An unexpected error occurred; it has been logged."}
        return web.json_response(body, status=500, content_type=PROBLEM_JSON)


#: Where errors are RFC 6749 JSON objects rather than problem+json.
_OAUTH_PREFIXES = ("/oauth2/", "/compat/enedis/oauth2/")


#: Handlers that refuse a NUL in the URL themselves (:func:`refuse_nul`), in their own error
#: shape and with their own evidence: the data handlers, whose every request leaves an access
#: event (R16).
_REFUSING_NUL: set[object] = set()


def refuses_nul_itself(handler: _H) -> _H:
    """Mark ``handler`` as calling :func:`refuse_nul` first: the guard lets it through."""
    _REFUSING_NUL.add(handler)
    return handler


def refuse_nul(request: web.Request) -> None:
    """Raise :class:`DomainError` (:class:`InvalidRequest` on the OAuth endpoints) if the URL
    holds a NUL character (percent-encoded: HTTP's parser already refuses raw ones)."""
    if "%00" in request.raw_path:
        detail = "A NUL character (%00) is not allowed in a URL."
        if request.path.startswith(_OAUTH_PREFIXES):
            raise InvalidRequest(detail)
        raise DomainError(detail)


@web.middleware
async def nul_guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a NUL character anywhere in the URL before any handler sees it, except the
    handlers that refuse it themselves (:func:`refuses_nul_itself`).

    No identifier, date or parameter of ours holds one, and PostgreSQL text cannot: a NUL
    reaching a query makes the driver raise, which would be a 500 on whichever route forgot to
    check. One check here covers every route, present and future (forms: ``parse_pairs``).
    """
    if request.match_info.handler not in _REFUSING_NUL:
        refuse_nul(request)
    return await handler(request)

"""aiohttp <-> authlib: read the request first, then let authlib decide, synchronously.

authlib's server core is synchronous and calls its storage hooks deep inside its own code
(``query_client``, ``save_token``...). Passerelle never lets those hooks touch the database:
the handler reads the whole request (:func:`read_snapshot`), loads every row authlib may ask for
into an :class:`~proxy.oauth.exchange.Exchange` (async), calls authlib (pure CPU, well under a
millisecond), then writes what authlib decided in one transaction (async). The exchange is
handed to the hooks through a :class:`~contextvars.ContextVar`, set only around the call.

Two defaults of authlib are fixed here (reference §1.5): its responses are turned into a
:class:`Carrier` whose ``location`` really rewrites the ``Location`` header (so RFC 9207's
``iss`` is not silently dropped), and its redirects become ``303 See Other`` (RFC 9700 §4.12).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aiohttp import web
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from authlib.oauth2.rfc6749.requests import OAuth2Payload
from multidict import CIMultiDictProxy

from consent.scopes import AccessRequest
from proxy.errors import NO_STORE, InvalidRequest, TemporarilyUnavailable
from proxy.web.forms import MalformedForm, parse_pairs, read_form

if TYPE_CHECKING:
    from proxy.oauth.exchange import Exchange

log = logging.getLogger("passerelle.oauth")

#: Longest value of one parameter (authorization_details has its own, longer cap).
MAX_VALUE_LENGTH = 2048
MAX_LONG_VALUE_LENGTH = 8192
LONG_PARAMETERS = frozenset({"authorization_details"})
#: More parameters than this in one request is abuse, not OAuth.
MAX_PARAMETERS = 40

_current: ContextVar[Exchange] = ContextVar("passerelle_oauth_exchange")


def current_exchange() -> Exchange:
    """The exchange of the authlib call in progress (only valid inside :func:`bound`)."""
    return _current.get()


@contextmanager
def bound(exchange: Exchange) -> Iterator[Exchange]:
    """Make ``exchange`` visible to authlib's hooks for the duration of one synchronous call."""
    token = _current.set(exchange)
    try:
        yield exchange
    finally:
        _current.reset(token)


class Payload(OAuth2Payload):  # type: ignore[misc]
    """Parameters of one request; every name occurs once (checked by :func:`check_parameters`)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class Snapshot(OAuth2Request):  # type: ignore[misc]
    """An aiohttp request, fully read, as authlib's :class:`OAuth2Request`.

    ``uri`` is built from the configured issuer (the public URL), never from the ``Host`` or
    ``X-Forwarded-*`` headers the client sent (RFC 9700 §4.13). An issuer authlib deems
    insecure (http on a host that is not loopback: ``passerelle serve`` refuses to start on
    one, :mod:`proxy.issuer`, but an application can still be built on one) is
    :class:`~proxy.errors.TemporarilyUnavailable` (503, logged), never a 500.
    """

    def __init__(self, method: str, uri: str, headers: CIMultiDictProxy[str],
                 query: list[tuple[str, str]], form: list[tuple[str, str]]) -> None:
        try:
            super().__init__(method, uri, headers=headers)
        except InsecureTransportError:
            log.error("OAuth refused: the issuer is plain http on a host that is not "
                      "loopback; set PASSERELLE_PUBLIC_URL to the https origin")
            raise TemporarilyUnavailable("OAuth is not served over plain http here; the "
                                         "operator must publish this server over https.") \
                from None
        self.payload = Payload(query + form)
        #: Set by :class:`~proxy.oauth.grants.AccessRequestCheck` once validated.
        self.access: AccessRequest | None = None
        self._args = dict(query)
        self._form = dict(form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


def check_parameters(pairs: list[tuple[str, str]]) -> None:
    """Refuse repeated (RFC 6749 §3.1, §3.2), oversized or too many parameters: 400."""
    if len(pairs) > MAX_PARAMETERS:
        raise InvalidRequest(f"More than {MAX_PARAMETERS} parameters.")
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            raise InvalidRequest(f"Parameter {key[:40]!r} is repeated; send it once.")
        seen.add(key)
        limit = MAX_LONG_VALUE_LENGTH if key in LONG_PARAMETERS else MAX_VALUE_LENGTH
        if len(value) > limit or len(key) > 64:
            raise InvalidRequest(f"Parameter {key[:40]!r} is longer than {limit} characters.")
        if "\x00" in value:
            raise InvalidRequest(f"Parameter {key[:40]!r} holds a NUL character.")


def query_pairs(request: web.Request) -> list[tuple[str, str]]:
    """The query string as pairs, decoded strictly (malformed UTF-8 is a 400)."""
    try:
        return parse_pairs(request.rel_url.raw_query_string)
    except MalformedForm as error:
        raise InvalidRequest(error.detail) from None


async def read_snapshot(request: web.Request, issuer: str, *, use_query: bool,
                        use_form: bool) -> Snapshot:
    """Read ``request`` into a :class:`Snapshot` after checking every parameter."""
    query = query_pairs(request) if use_query else []
    try:
        form = await read_form(request) if use_form else []
    except MalformedForm as error:
        raise InvalidRequest(error.detail) from None
    check_parameters(query + form)
    return Snapshot(request.method, issuer + request.path_qs, request.headers, query, form)


class Carrier:
    """authlib's ``(status, body, headers)`` response, with a working ``location``.

    Redirects are answered ``303 See Other`` whatever authlib chose (RFC 9700 §4.12: never 307
    after a POST that carried credentials; 303 is right after GET too).
    """

    def __init__(self, status: int, body: Any, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.body = body
        self.headers = list(headers)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))

    @property
    def json(self) -> Mapping[str, Any]:
        """The body, when it is a JSON object."""
        return self.body if isinstance(self.body, dict) else {}

    def to_response(self) -> web.Response:
        """The aiohttp response; JSON bodies are serialised, redirects become 303."""
        headers = {k: v for k, v in self.headers if k.lower() != "content-type"}
        if self.location is not None and 300 <= self.status < 400:
            return web.Response(status=303, headers={**headers, **NO_STORE})
        if isinstance(self.body, dict):
            return web.Response(text=json.dumps(self.body), status=self.status,
                                content_type="application/json", headers={**headers, **NO_STORE})
        return web.Response(text=str(self.body), status=self.status, headers=headers)


def error_redirect(error: OAuth2Error, state: str | None, issuer: str) -> web.Response:
    """An authorization error sent back to the client's (validated) ``error.redirect_uri``,
    with ``state`` and RFC 9207's ``iss``, as a ``303``."""
    error.state = state
    carrier = Carrier(*error())
    carrier.location = add_params_to_uri(carrier.location or "", [("iss", issuer)])
    return carrier.to_response()

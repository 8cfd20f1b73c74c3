"""The operator's own access token at a DSO: OAuth 2.0 client credentials (RFC 6749 §4.4).

Data Connect (since v5) and ADICT both give *one application token* that reads every point the
operator holds an authorisation for. :class:`ClientCredentials` fetches it, keeps it in a
:class:`TokenCache` and renews it ``renew_before`` ahead of its expiry, so that no request ever
leaves with a token about to die; concurrent callers share one renewal (single flight).

The cache is an extension point so that every replica of Passerelle can share one token later
(a database or Redis implementation of :class:`TokenCache`); :class:`InMemoryTokenCache` serves a
single process. Entries are keyed by token endpoint, client id and scope, never by secret, and a
token never appears in an error message or a log line. Each process uses its own copy while it
is fresh and reads the store only when it is not (a database round trip per DSO call
otherwise). A renewal holds the store's lock (:meth:`TokenCache.renewal`: across replicas when
they share it) and reads the store once more before fetching, so replicas needing a token at the
same instant fetch one, not one each. The in-house client, Enedis and GRDF adapters all get
their token here.

A token endpoint that failed (5xx, 429, unreachable, too slow) is not asked again for
:data:`FAILURE_HOLD` seconds, or its ``Retry-After``: every request arriving meanwhile gets
the same answer at once, rather than each sending its own token request to a DSO that is down.
"""

from __future__ import annotations

import asyncio
import base64
import math
from datetime import datetime, timedelta
from urllib.parse import quote_plus

import aiohttp

from adapters.bodies import read_answer
from adapters.decode import Doc, json_value
from adapters.errors import (
    UpstreamCredentialsRejected,
    UpstreamMalformed,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.retry_after import retry_after_seconds
from consent.clock import Clock, SystemClock
from consent.numbers import whole_number
from consent.shared_state.tokens import CachedToken, MemoryTokens, TokenStore

#: How long a failed token endpoint is left alone when it names no wait (s).
FAILURE_HOLD = 2

#: The store of application tokens is the domain's (``consent.shared_state``): one per process
#: (:class:`MemoryTokens`) or shared by every replica through the database (``DatabaseTokens``).
TokenCache = TokenStore
InMemoryTokenCache = MemoryTokens


def basic_credentials(client_id: str, client_secret: str) -> str:
    """``Authorization: Basic`` value with both parts form-encoded first (RFC 6749 §2.3.1)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def parse_lifetime(doc: Doc) -> int:
    """``expires_in`` in seconds; Enedis sends it as a string (``"12600"``), ADICT as a number."""
    value = doc.value
    if isinstance(value, str):
        value = whole_number(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise doc.fail("a positive number of seconds")
    return value


class ClientCredentials:
    """One application token from ``token_url``; see the module docstring.

    ``credentials_in`` is ``"basic"`` (HTTP Basic, RFC 6749 §2.3.1) or ``"form"`` (client id and
    secret as form fields, which Data Connect and ADICT both accept).
    """

    def __init__(self, session: aiohttp.ClientSession, token_url: str, client_id: str,
                 client_secret: str, *, scope: str | None = None,
                 cache: TokenCache | None = None, clock: Clock | None = None,
                 renew_before: timedelta = timedelta(minutes=5), timeout: float = 10.0,
                 credentials_in: str = "basic") -> None:
        if credentials_in not in ("basic", "form"):
            raise ValueError("credentials_in is 'basic' or 'form'")
        self._session = session
        self._url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._cache = cache or InMemoryTokenCache()
        self._clock = clock or SystemClock()
        self._renew_before = renew_before
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._in = credentials_in
        self._lock = asyncio.Lock()
        #: This process's copy of the token: used while fresh without asking the store (a
        #: database round trip per DSO call when replicas share it).
        self._held: CachedToken | None = None
        #: Until when (this clock) a failed token endpoint is not asked again, and why.
        self._failed: tuple[datetime, UpstreamUnavailable | UpstreamTimeout] | None = None
        self.key = f"{token_url}|{client_id}|{scope or ''}"
        self.fetched = 0  # how many tokens this instance obtained (tests, metrics)

    def __repr__(self) -> str:
        return f"ClientCredentials({self._url!r}, client_id={self._client_id!r})"

    async def bearer(self) -> str:
        """A token valid for at least ``renew_before`` more: this process's copy, else the
        store's (another replica's), else a new one, stored for the others."""
        held = self._held
        if held is not None and self._fresh(held):
            return held.value
        async with self._lock:  # one renewal for all concurrent callers of this process
            held = self._held  # renewed by the caller that held the lock before us?
            if held is not None and self._fresh(held):
                return held.value
            stored = await self._stored()  # another replica's
            if stored is not None:
                return stored.value
            self._check_failure_hold()
            # One renewal across replicas: the store's lock, then its token again (stored by
            # the replica that held the lock before us?) before fetching one.
            async with self._cache.renewal(self.key):
                stored = await self._stored()
                if stored is not None:
                    return stored.value
                now = self._clock.now()
                try:
                    token = await self._fetch()
                except (UpstreamUnavailable, UpstreamTimeout) as failure:
                    wait = getattr(failure, "retry_after", None) or FAILURE_HOLD
                    self._failed = (now + timedelta(seconds=wait), failure)
                    raise
                self._failed = None
                self._held = token
                await self._cache.put(self.key, token)
                return token.value

    async def _stored(self) -> CachedToken | None:
        """The store's token if fresh (then this process's copy too), else ``None``."""
        stored = await self._cache.get(self.key)
        if stored is None or not self._fresh(stored):
            return None
        self._held = stored
        return stored

    def _check_failure_hold(self) -> None:
        """Raise again what the token endpoint answered, while its hold lasts."""
        now = self._clock.now()
        if self._failed is not None and now < self._failed[0]:
            until, failure = self._failed
            left = math.ceil((until - now).total_seconds())
            raise type(failure)(failure.detail, **({"retry_after": left} if isinstance(
                failure, UpstreamUnavailable) else {}))

    async def refused(self, value: str) -> None:
        """The DSO answered 401 to ``value``: drop it, here and in the store, so the next
        call fetches a new one (a fresh one another replica stored meanwhile stays)."""
        if self._held is not None and self._held.value == value:
            self._held = None
        await self._cache.discard(self.key, value)

    def _fresh(self, token: CachedToken) -> bool:
        return self._clock.now() < token.expires_at - self._renew_before

    async def _fetch(self) -> CachedToken:
        form = {"grant_type": "client_credentials"}
        headers = {"Accept": "application/json"}
        if self._scope is not None:
            form["scope"] = self._scope
        if self._in == "basic":
            headers["Authorization"] = basic_credentials(self._client_id, self._secret)
        else:
            form |= {"client_id": self._client_id, "client_secret": self._secret}
        now = self._clock.now()
        try:
            # No redirect followed: the credentials go to the configured endpoint only.
            async with self._session.post(self._url, data=form, headers=headers,
                                          timeout=self._timeout,
                                          allow_redirects=False) as response:
                status, raw = response.status, await read_answer(response)
                retry = retry_after_seconds(response.headers.get("Retry-After", ""),
                                            response.headers.get("Date"))
        except TimeoutError:
            raise UpstreamTimeout("The DSO's token endpoint did not answer in time.") from None
        except aiohttp.ClientPayloadError:
            raise UpstreamMalformed("The DSO's token answer was cut short.",
                                    field="body") from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable("The DSO's token endpoint could not be reached "
                                      f"({type(exc).__name__}).") from None
        if status in (400, 401, 403):
            raise UpstreamCredentialsRejected(
                f"The DSO refused the operator's client credentials (HTTP {status}).")
        if status == 429:
            raise UpstreamRateLimited("The DSO's token endpoint says the quota is reached.",
                                      retry_after=retry)
        if status != 200:
            raise UpstreamUnavailable(f"The DSO's token endpoint failed (HTTP {status}).",
                                      retry_after=retry)
        try:
            doc = Doc(json_value(raw, exact=True))
        except ValueError:
            raise UpstreamMalformed("The DSO's token answer is not JSON.", field="body") from None
        value = doc["access_token"].text()
        if str(doc["token_type"].text()).lower() != "bearer":
            raise doc["token_type"].fail("'Bearer'")
        lifetime = parse_lifetime(doc["expires_in"])
        self.fetched += 1
        return CachedToken(value, now + timedelta(seconds=lifetime))

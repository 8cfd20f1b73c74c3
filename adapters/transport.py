"""One authenticated, rate-limited, retried HTTP exchange with a DSO.

:class:`UpstreamTransport` is what the Enedis and GRDF adapters share: the application token
(:mod:`adapters.tokens`), a turn from the :class:`~adapters.quota.UpstreamLimiter` before every
attempt (the adapter's :class:`~adapters.quota.QuotaPlan` names the bucket; a 429 holds it for
its ``Retry-After``), a total timeout per attempt, and the translation of every transport
failure into the adapter error tree. The DSO-specific part, reading an error body, is the
``classify`` function each adapter passes in.

Retries follow one rule: only a *safe* request (a GET, or a call the adapter marks idempotent)
is retried, only on an error the tree marks ``retryable`` that is not a timeout (the upstream may
still be working on it), at most ``attempts`` times, waiting the DSO's ``Retry-After`` or an
exponential backoff, and never longer than ``max_delay`` at once: a DSO that asks for a minute
gets its answer passed on as :class:`~adapters.errors.UpstreamRateLimited` instead of a request
held for a minute. A 401 renews the token once (the DSO may have revoked it early).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from adapters.bodies import read_answer
from adapters.errors import (
    QuotaBusy,
    UpstreamCredentialsRejected,
    UpstreamError,
    UpstreamMalformed,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.quota import (
    QuotaPlan,
    UpstreamLimiter,
    current_recipient,
    exchange_sent,
    heed,
)
from adapters.retry_after import retry_after_seconds
from adapters.tokens import ClientCredentials


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def retry_after(self) -> int | None:
        """``Retry-After`` in seconds, if the answer says (:func:`retry_after_seconds`)."""
        return retry_after_seconds(self.headers.get("Retry-After", ""), self.headers.get("Date"))


#: Reads a non-success :class:`Reply` and returns the adapter error it means.
Classifier = Callable[[Reply], UpstreamError]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard a safe request is tried: ``attempts`` in all, backoff ``base_delay * 2**n``."""

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0

    def delay(self, attempt: int, error: UpstreamError) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up with ``error``.
        Our own limiter's :class:`QuotaBusy` is given up at once: it already waited as long as
        it may, and nothing was sent."""
        if attempt + 1 >= self.attempts or not error.retryable or \
                isinstance(error, UpstreamTimeout | QuotaBusy):
            return None
        retry_after = getattr(error, "retry_after", None)
        wait = float(retry_after) if retry_after is not None else \
            self.base_delay * 2 ** attempt
        return wait if wait <= self.max_delay else None


class UpstreamTransport:
    """HTTP to one DSO application; see the module docstring."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *,
                 token: ClientCredentials, limiter: UpstreamLimiter, plan: QuotaPlan,
                 classify: Classifier, timeout: float = 10.0,
                 retry: RetryPolicy | None = None,
                 headers: Mapping[str, str] | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.limiter = limiter
        self.plan = plan
        self.retry = retry or RetryPolicy()
        self._session = session
        self._classify = classify
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = dict(headers or {})
        self._sleep = sleep
        self.exchanges = 0  # HTTP exchanges sent (tests, metrics)

    async def request(self, method: str, path: str, *, api: str,
                      expect: tuple[int, ...] = (200,), safe: bool | None = None,
                      accept: str = "application/json", **kwargs: Any) -> Reply:
        """Send ``method path`` (``params``/``json``/``data`` in ``kwargs``) until it succeeds
        with a status in ``expect``; raise the classified error otherwise."""
        safe = method == "GET" if safe is None else safe
        attempts = self.retry.attempts if safe else 1
        renewed = False
        attempt = 0
        while True:
            bearer = await self.token.bearer()
            headers = {**self._headers, "Authorization": "Bearer " + bearer, "Accept": accept}
            failure: UpstreamError | None = None
            try:
                await self.limiter.acquire(self.plan, api, current_recipient())
                reply = await self._exchange(method, self.base_url + path, headers, kwargs)
            except UpstreamError as exc:
                failure = exc
            else:
                if reply.status == 401 and not renewed:
                    await self.token.refused(bearer)  # revoked early: fetch a new one, once
                    renewed = True
                    continue
                if reply.status == 401:
                    raise UpstreamCredentialsRejected("The DSO keeps refusing the operator's "
                                                      "token.")
                failure = None if reply.status in expect else self._classify(reply)
                await heed(self.limiter, self.plan, api, failure)  # its word beats our count
                if failure is None:
                    return reply
            wait = self.retry.delay(attempt, failure) if attempt + 1 < attempts else None
            if wait is None:
                raise failure
            await self._sleep(wait)
            attempt += 1

    async def _exchange(self, method: str, url: str, headers: dict[str, str],
                        kwargs: Mapping[str, Any]) -> Reply:
        self.exchanges += 1
        exchange_sent()
        try:
            # No redirect followed: each exchange is one the limiter counted.
            async with self._session.request(method, url, headers=headers,
                                             timeout=self._timeout, allow_redirects=False,
                                             **kwargs) as response:
                body = await read_answer(response)
                return Reply(response.status, dict(response.headers), body)
        except TimeoutError:
            raise UpstreamTimeout("The DSO did not answer in time.") from None
        except aiohttp.ClientPayloadError:
            raise UpstreamMalformed("The DSO's answer was cut short.", field="body") from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"The DSO could not be reached ({type(exc).__name__})."
                                      ) from None

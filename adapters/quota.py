"""Upstream quotas: what a DSO allows, which bucket each call counts in, and the limiter protocol.

A DSO's quota belongs to the operator's *application*, shared by every recipient app (issue 4,
"the DSO limits the operator, not each app"), so every request an adapter sends to a DSO takes
one turn from the **one** :class:`UpstreamLimiter` of the process, exactly once: the adapter
takes it right before the HTTP exchange (retries and a renewed token's second try are exchanges
too); nothing above the adapter takes another. The implementation is
:class:`adapters.limiter.FairLimiter`.

What an adapter declares is a :class:`QuotaPlan`: its application, the quotas the DSO
documents (:class:`~adapters.base.Quota`, ``N`` requests per ``T``) and the APIs its calls
name. A quota of scope ``"application"`` is one bucket for every call of the application; a
quota of scope ``"api"`` is one bucket per API, as Data Connect 2026 counts ("5 appels par
secondes et/ou 1000 appels par heure" per API, ``dso-apis-and-peers.md`` §1.7): a call counts
in its API's buckets *and* the application's. The API of a call is what the DSO subscribes and
counts as one (Data Connect: one basePath, ``mesure_synchrone_auto/v2`` for all seven measure
datasets; see each adapter's declared table); an API the plan does not declare is a programming
error, never an unlimited call.

The recipient on whose behalf a call runs comes from :func:`acting_for` (the proxy sets it
around each request; background work runs as :data:`OPERATOR`): the limiter shares turns
fairly between recipients.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from adapters.base import Quota
from adapters.errors import UpstreamRateLimited

#: The recipient name used for work no recipient asked for (re-checks, warm-up, health).
OPERATOR = "operator"

#: ``scope`` of a :class:`Quota` counted per upstream API rather than per application.
API_SCOPE = "api"
#: ``scope`` of a :class:`Quota` counted once for the whole application.
APPLICATION_SCOPE = "application"
#: The bucket of every call when no quota counts per API.
WHOLE_APPLICATION = "app"

_RECIPIENT: ContextVar[str] = ContextVar("passerelle_upstream_recipient", default=OPERATOR)


@contextlib.contextmanager
def acting_for(recipient: str) -> Iterator[None]:
    """Run the enclosed adapter calls on behalf of ``recipient`` (its quota turn, R16 trace)."""
    token = _RECIPIENT.set(recipient)
    try:
        yield
    finally:
        _RECIPIENT.reset(token)


def current_recipient() -> str:
    """The recipient the current task acts for (:data:`OPERATOR` if none was set)."""
    return _RECIPIENT.get()


_EXCHANGES: ContextVar[list[int] | None] = ContextVar("passerelle_upstream_exchanges",
                                                      default=None)


@contextlib.contextmanager
def counting_exchanges() -> Iterator[list[int]]:
    """Count, in the one-item list yielded, the HTTP exchanges with the DSO's API that the
    enclosed adapter calls send (retries included): what the access event reports (R16)."""
    counter = [0]
    token = _EXCHANGES.set(counter)
    try:
        yield counter
    finally:
        _EXCHANGES.reset(token)


def exchange_sent() -> None:
    """Called by an adapter's transport for each HTTP request it sends to the DSO's API."""
    counter = _EXCHANGES.get()
    if counter is not None:
        counter[0] += 1


@dataclass(frozen=True, slots=True)
class QuotaPlan:
    """An adapter's declaration: ``application`` (the DSO account the quotas belong to),
    its ``quotas``, and the ``apis`` its calls may name.

    No quota at all means the DSO announces none (the built-in simulator): nothing is counted.
    """

    application: str
    quotas: tuple[Quota, ...]
    apis: frozenset[str]

    def __post_init__(self) -> None:
        scopes = {q.scope for q in self.quotas} - {API_SCOPE, APPLICATION_SCOPE}
        if scopes:
            raise ValueError(f"unknown quota scope(s) {sorted(scopes)} for {self.application}")
        if not self.apis:
            raise ValueError(f"{self.application} declares no API")

    @property
    def per_api(self) -> bool:
        """True when some quota counts each API separately."""
        return any(q.scope == API_SCOPE for q in self.quotas)

    def bucket(self, api: str) -> str:
        """The bucket ``api``'s calls count in: the API itself when some quota counts per API,
        else :data:`WHOLE_APPLICATION`. Raises ``ValueError`` for an undeclared API."""
        if api not in self.apis:
            raise ValueError(f"{api!r} is not an API declared by {self.application}")
        return api if self.per_api else WHOLE_APPLICATION


@runtime_checkable
class UpstreamLimiter(Protocol):
    """Admission control in front of every request to a DSO; see the module docstring."""

    async def acquire(self, plan: QuotaPlan, api: str, recipient: str) -> None:
        """Return when one request of ``plan`` to ``api`` may start now, counted in every
        window of its bucket (the API's and the application's), the turns shared round-robin
        between recipients. Raises :class:`~adapters.errors.QuotaBusy` (503 with a
        ``Retry-After``) when the wait would exceed the limiter's bound."""
        ...

    async def backoff(self, plan: QuotaPlan, api: str, seconds: float | None) -> float:
        """The DSO answered 429 to a request to ``api``: start no request of that bucket for
        ``seconds`` (its ``Retry-After``), or, if it named no wait (``None``, ``0``), for the
        bucket's shortest quota period, doubled for each such 429 soon after the last one (a
        longer window is full) up to its longest. Returns the seconds held."""
        ...

    def settled(self, plan: QuotaPlan, api: str) -> None:
        """The DSO answered a request to ``api`` with something other than a 429: a later 429
        naming no wait starts its holds over from the shortest."""
        ...

    async def headroom(self) -> dict[tuple[str, str], tuple[int, int]]:
        """``{(application, window): (free, limit)}`` of every window used so far."""
        ...

    async def close(self) -> None:
        """Refuse every queued request; the limiter is not used afterwards."""
        ...


async def heed(limiter: UpstreamLimiter, plan: QuotaPlan, api: str,
               error: Exception | None) -> None:
    """Tell ``limiter`` how the DSO answered a request to ``api``: a 429 (``error`` an
    :class:`~adapters.errors.UpstreamRateLimited`) holds the bucket, and the error then names
    at least the hold applied (the DSO may have named none); any other answer settles it.
    Every adapter that takes turns calls this once per answer."""
    if isinstance(error, UpstreamRateLimited):
        error.wait_at_least(await limiter.backoff(plan, api, error.retry_after))
    else:
        limiter.settled(plan, api)


@runtime_checkable
class Limited(Protocol):
    """An adapter whose DSO requests take turns from ``limiter`` (every built-in adapter).

    The proxy sets ``limiter`` to its own before the first request, so that every adapter of
    the instance shares one limiter (and, on PostgreSQL, every replica one set of windows).
    """

    limiter: UpstreamLimiter

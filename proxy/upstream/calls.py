"""One DSO call as the proxy sees it: listed in the access event of the request that made it
(:class:`FetchReport`, :func:`noted`: R16, every upstream call listed once), shared by the
requests that need it while it runs (:class:`SharedCall`), and counted in the metrics
(:func:`outcome_of`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from adapters.errors import QuotaBusy, UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable
from adapters.quota import counting_exchanges
from consent.errors import PasserelleError
from proxy.metrics import UpstreamOutcome

T = TypeVar("T")


@dataclass(slots=True)
class FetchReport:
    """What one request cost upstream: DSO calls (with their windows), the HTTP exchanges they
    took, and days from the cache."""

    calls: list[str] = field(default_factory=list)
    cache_days: int = 0
    #: HTTP exchanges with the DSO (a call retried after a 5xx or a 429 counts each attempt; a
    #: call through an adapter that counts none, the in-process simulator, counts one).
    upstream_calls: int = 0

    def note(self, label: str, exchanges: int, failure: str | None = None) -> None:
        """Write one call, named ``label``, that took ``exchanges`` HTTP exchanges and ended
        in the problem code ``failure``, if it failed."""
        if exchanges > 1:
            label += f" ({exchanges} exchanges)"
        self.calls.append(label if failure is None else f"{label} -> {failure}")
        self.upstream_calls += max(1, exchanges)


async def noted(report: FetchReport | None, label: str, call: Awaitable[T],
                claim: Callable[[], bool] | None = None, sent: list[int] | None = None) -> T:
    """``call``'s result, the call written in ``report`` as ``label``; if the DSO answered
    with an error or not at all (a timeout), as ``label -> <problem code>``: it was made all
    the same (R16: the access event lists every upstream call). A call our limiter refused
    a turn (:class:`QuotaBusy`) before any exchange reached no DSO and is not written; one
    refused after some is written with them. ``claim``, for a call several
    requests share, says whether this one writes it (the first to learn its outcome), and
    ``sent`` is its exchange counter (:func:`~adapters.quota.counting_exchanges`, set where
    its task was created); otherwise the exchanges are counted here."""
    def write(failure: str | None = None) -> None:
        if report is not None and (claim is None or claim()):
            report.note(label, counter[0], failure)

    with contextlib.nullcontext(sent) if sent is not None else counting_exchanges() as counter:
        try:
            result = await call
        except Exception as error:
            # Our limiter's refusal before any exchange reached no DSO: nothing to list.
            if not (isinstance(error, QuotaBusy) and not counter[0]):
                write(error.code if isinstance(error, PasserelleError) else "internal-error")
            raise
    write()
    return result


@dataclass(eq=False)
class SharedCall(Generic[T]):
    """One DSO call in flight (a chunk's series, a point's description), and whether an
    access event lists it yet."""

    task: asyncio.Task[T]
    sent: list[int]
    owner: str  # the recipient it runs for (its limiter turns are that recipient's)
    listed: bool = False
    #: A series call's local days, and its name in access events.
    days: frozenset[date] = frozenset()
    label: str = ""

    def claim(self) -> bool:
        """True for the first request that learns the call's outcome: its event lists the
        call, and no other does (it was made once)."""
        first, self.listed = not self.listed, True
        return first


def outcome_of(error: BaseException) -> UpstreamOutcome:
    """The metrics outcome of a failed DSO call."""
    if isinstance(error, QuotaBusy):
        return "quota_busy"
    if isinstance(error, UpstreamRateLimited):
        return "throttled"
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    if isinstance(error, UpstreamUnavailable):
        return "unavailable"
    if isinstance(error, PasserelleError) and error.status < 500:
        return "client_error"
    return "server_error"

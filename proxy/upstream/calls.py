"""One DSO call as the proxy sees it: listed in the access event of the request that made it
(:class:`FetchReport`, :func:`noted`: R16, every upstream call listed once), shared by the
requests that need it while it runs (:class:`SharedCall`), made on behalf of a recipient with
its failures translated and counted in the metrics (:func:`measured`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from adapters.errors import (
    QuotaBusy,
    UpstreamMalformed,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.quota import acting_for, counting_exchanges
from consent.errors import PasserelleError
from proxy.metrics import Metrics, UpstreamOutcome

T = TypeVar("T")
log = logging.getLogger("passerelle.upstream")


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


async def measured(adapter: str, metrics: Metrics | None, recipient: str,
                   call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, one call of the ``adapter`` adapter made on behalf of ``recipient`` (its
    limiter turns are the recipient's: :func:`~adapters.quota.acting_for`), timed and counted
    by outcome in ``metrics``. An error outside the error tree is the DSO's unreadable answer
    (502), logged with its traceback; our own storage's errors go through untouched."""
    started = time.perf_counter()
    outcome: UpstreamOutcome | None = "ok"
    try:
        with acting_for(recipient):
            return await call()
    except asyncio.CancelledError:
        outcome = None  # our caller left; the DSO's answer is unknown, not a failure
        raise
    except PasserelleError as error:
        outcome = outcome_of(error)
        raise
    except SQLAlchemyError:
        outcome = None  # our own storage (a quota ledger, the token store), not the DSO:
        raise  # the HTTP edge answers it (503 while the database is away)
    except Exception:
        # An adapter let a foreign error out (a body it failed to read in a way it did not
        # foresee): the recipient gets the tree's 502, the operator the traceback.
        outcome = "server_error"
        log.exception("The %s adapter raised outside the error tree.", adapter)
        raise UpstreamMalformed("The DSO's answer could not be read.", field="body") from None
    finally:
        if metrics is not None and outcome is not None:
            metrics.upstream_call(adapter, outcome, time.perf_counter() - started)

"""Data-path requests that name nobody, limited per client address (R16, RFC 6585 §4).

A request to a data path that fails without naming a recipient (no token, a malformed, unknown,
expired or revoked one: RFC 6750's 401 and 400; also a method or a query refused before the
token is read) is nobody's to account for, yet each used to leave a durable access event: anyone
could grow the database and the evidence log at the rate they can send requests. Such failures
now take a token from their client address's bucket (:func:`~proxy.web.ratelimit.address_key`:
IPv4, or IPv6's /64; the address behind trusted proxies, :mod:`proxy.forwarding`, never an
``X-Forwarded-For`` an untrusted peer wrote), in :class:`~consent.shared_state.RateBuckets`
namespace ``unauthenticated``: on PostgreSQL one bucket for every replica.

* **Within the limit** each failure keeps its own access event, as before.
* **Past it** (the bucket is empty when the failure tries to take), the answer is 429 with
  ``Retry-After`` in the API's own error shape (:class:`AddressRateLimited`) instead, and every
  request from that address until the bucket refills is refused **before** anything else, the
  token lookup included (a valid token from that address too: it is the address that is over
  its limit). Refused requests leave no event each; they are tallied, and one event per address,
  API and minute (UTC) says how many (``values``; rule
  :data:`~consent.access_events.ADDRESS_LIMIT_RULE`), which R17's counts add up as that many.

**Why the summary is written when its minute closes** (by :meth:`AddressLimit.flush`, every few
seconds, and at shutdown by :meth:`AddressLimit.close`), not at the minute's first refusal: one
event then carries the true count, where an event at the first refusal would know of one and
need a second to say the rest. What that costs: a replica that dies loses the tally of its open
minute (those requests were refused before any work, and were counted in
``passerelle_denials_total``). Each replica tallies its own refusals: with N replicas, an
address has up to N summaries a minute.

**Races.** The bucket is taken *after* a failure, not before every request (a valid request must
spend nothing, and on PostgreSQL nothing of the database), so concurrent failures each take a
token once; those that find none are answered 429 and tallied, so events stay within the burst
whatever the concurrency. What a replica learns of an empty bucket it keeps until the instant the
bucket named; another replica learns it with its own next failure, which is already refused.

The summary names no address, only a tag: 12 hex digits of an HMAC of the address's key under
the instance's web secret, enough to see one source across minutes and replicas, and nothing
of a token is ever written.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from consent.access_events import ADDRESS_LIMIT_RULE, AccessEvent, AccessEventSink, Outcome
from consent.clock import Clock
from consent.errors import PasserelleError
from consent.models.base import DEFAULT_TENANT
from consent.shared_state import RateBuckets
from proxy.metrics import Metrics
from proxy.web.ratelimit import address_key

log = logging.getLogger("passerelle.data")

#: Each address's refusals are summarised per interval of this length, aligned on UTC.
INTERVAL = timedelta(minutes=1)
#: Addresses tallied at once, at most; past it, refusals of new ones share one tally.
MAX_TALLIES = 10_000
#: The tally of the addresses past :data:`MAX_TALLIES`.
MANY = "many addresses"


class AddressRateLimited(PasserelleError):
    """Too many requests naming no valid access token from one client address (RFC 6585 §4,
    RFC 6750 §3.1): retry after ``retry_after`` seconds, with a valid token."""

    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many requests without a valid access token from this address; "
                         "retry later.", retry_after=retry_after)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` in seconds (RFC 9110 §10.2.3)."""
        return {"Retry-After": str(self.retry_after)}


@dataclass(slots=True)
class _Tally:
    """The refusals of one address and API in one interval: the first one's request id,
    route and body hash stand for the rest."""

    start: datetime
    route: str
    request_id: str
    body_sha256: str
    count: int = 0


class AddressLimit:
    """The limit, its refusals and their summaries; see the module docstring."""

    def __init__(self, buckets: RateBuckets, sink: AccessEventSink, clock: Clock,
                 metrics: Metrics, secret: bytes, *,
                 seconds: Callable[[], float] = time.monotonic) -> None:
        self.buckets = buckets
        self.sink = sink
        self.clock = clock
        self.metrics = metrics
        self.secret = secret
        self._seconds = seconds
        self._refused: dict[str, float] = {}  # address key -> refused until (``seconds``)
        self._tallies: dict[tuple[str, str], _Tally] = {}  # (api, tag) -> this interval's
        self._closed: list[tuple[str, str, _Tally]] = []  # intervals closed, not written yet

    def refusal(self, request: web.Request) -> AddressRateLimited | None:
        """The 429 for a request from an address past its limit, decided from memory alone
        (before the token is read); ``None`` otherwise."""
        if not self._refused:  # the usual case: no dict lookup, no address parsed
            return None
        key = address_key(request.remote)
        wait = self._refused.get(key, 0.0) - self._seconds()
        if wait <= 0:
            self._refused.pop(key, None)
            return None
        return AddressRateLimited(max(1, math.ceil(wait)))

    async def spend(self, request: web.Request) -> AddressRateLimited | None:
        """Take the turn of a request that failed naming nobody: ``None`` within the limit
        (its event is written as usual), else the 429 to answer instead."""
        key = address_key(request.remote)
        try:
            wait = await self.buckets.take(key)
        except Exception:  # the database, most likely: the event will meet it too
            log.warning("the address limit could not be taken; the request is evidenced",
                        exc_info=True)
            return None
        if wait <= 0:
            return None
        self._refused[key] = self._seconds() + wait
        if len(self._refused) > MAX_TALLIES:
            now = self._seconds()
            self._refused = {k: v for k, v in self._refused.items() if v > now}
        return AddressRateLimited(max(1, math.ceil(wait)))

    def tally(self, request: web.Request, api: str, route: str, body: bytes,
              request_id: str) -> None:
        """Count a refused request (answered ``body``) in its address's summary of this
        interval."""
        self.metrics.deny(AddressRateLimited.code, ADDRESS_LIMIT_RULE)
        tag = self._tag(address_key(request.remote))
        if (api, tag) not in self._tallies and len(self._tallies) >= MAX_TALLIES:
            tag = MANY
        now = self.clock.now()
        tally = self._tallies.get((api, tag))
        if tally is None or now >= tally.start + INTERVAL:
            if tally is not None:  # closed, and not written yet: the next flush writes it
                self._closed.append((api, tag, tally))
            tally = self._tallies[api, tag] = _Tally(
                _interval_of(now), route, request_id[:32], hashlib.sha256(body).hexdigest())
        tally.count += 1

    async def flush(self, *, everything: bool = False) -> int:
        """Write the summaries of the intervals closed by now (``everything``: all of them,
        at shutdown); how many events were written. Those a failed append left unwritten are
        kept for the next flush (:func:`~proxy.sweeps.sweep_forever` retries it), never
        dropped: they are the only trace of the requests they count (R16)."""
        seconds = self._seconds()  # refusals over: requests stop parsing their address
        self._refused = {k: until for k, until in self._refused.items() if until > seconds}
        now = self.clock.now()
        due = [(api, tag, t) for (api, tag), t in self._tallies.items()
               if everything or now >= t.start + INTERVAL]
        for api, tag, _ in due:
            del self._tallies[api, tag]
        due += self._closed
        self._closed = []
        for done, (api, tag, tally) in enumerate(due):
            try:
                await self.sink.append(self._event(api, tag, tally, now))
            except asyncio.CancelledError:  # that one may be durable yet; the rest are not
                self._closed += due[done + 1:]
                raise
            except Exception:  # not durable (the sink's contract): the next flush writes it
                self._closed += due[done:]
                raise
        return len(due)

    async def close(self) -> None:
        """Write every tally, the open intervals' included; then close the buckets."""
        await self.flush(everything=True)
        await self.buckets.close()

    def _tag(self, key: str) -> str:
        return hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()[:12]

    def _event(self, api: str, tag: str, tally: _Tally, now: datetime) -> AccessEvent:
        rate, burst = self.buckets.rate, self.buckets.burst
        end = tally.start + INTERVAL  # the minute they fell in, though written earlier at a stop
        source = "several client addresses" if tag == MANY else f"one client address ({tag})"
        return AccessEvent(
            at=now, request_id=tally.request_id, api=api, route=tally.route,
            outcome=Outcome.DENIED, status=AddressRateLimited.status,
            body_sha256=tally.body_sha256, rule=ADDRESS_LIMIT_RULE, values=tally.count,
            reason=(f"{tally.count} requests naming no valid access token refused (429) from "
                    f"{source} between {_iso(tally.start)} and {_iso(end)}: past the limit of "
                    f"{burst} such requests, then {rate:g} a second (R16 summary)"),
            tenant_id=DEFAULT_TENANT)


def _interval_of(at: datetime) -> datetime:
    """The start of the interval holding ``at`` (UTC minutes)."""
    at = at.astimezone(UTC)
    return at.replace(second=0, microsecond=0)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

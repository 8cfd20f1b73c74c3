"""The data path of one request, the same for the native and the compatible API.

:class:`DataService` gathers the facts, enforces :func:`consent.checks.default_policy` (R6, R8,
R12, R13), fetches through the :class:`~proxy.upstream.fetcher.Upstream` of the point's source
and cuts the result to the consent's view. It never fetches before the policy has allowed the
request, so a denied request costs the DSO nothing and never touches the cache.

The policy is enforced before the DSO call, and again once its answer is in, at the instant
the data is released (:meth:`DataService._confirm`), with the token and the facts read again. A
DSO call may take seconds (timeouts and retries): a consent withdrawn, expired or cut by a
move-out meanwhile, a token revoked, a recipient suspended, must not let data out (R6), and the
access event carries that second instant, the one an auditor judges the release by
(docs/evidence-format.md §9). The second decision is skipped when it could not differ from the
first: every fact came through the caches (a consent's: not a mandate or a supplier's
contract, read fresh each time), no write the token or the facts depend on was heard of
meanwhile (the caches' generations; never while the bus is unhealthy or the caches are off),
and less than :data:`RECHECK_AFTER` (a second), and less than the caches' lifetime, has passed.
Only the reading is skipped: the first decision's facts are judged again at the release's
instant (pure computation), so an expiry, a token's end or a history floor crossed during the
call is seen, and a denial there falls back to the full reading (a renewal may have taken
over). What a skipped reading misses is what the caches may miss anyway (a write on another
replica, heard of within a second; one no bus carries, within the caches' lifetime). Measured:
read again in full on every request, the second decision cost 23 to 36 % more CPU per request
(``bench/README.md``, thirteenth session).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from adapters.errors import Unsupported
from consent.access import AccessContext, ReadRequest, TokenGrant
from consent.aggregation import cut_record, holds_whole, reachable, reaches, unreachable, view
from consent.checks import AllOf
from consent.clock import Clock
from consent.errors import InvalidPeriod
from consent.identifiers import PointRef, Source
from consent.periods import DayRange
from consent.readings import Record, Series
from consent.redaction import redact
from consent.vocabulary import MAX_HISTORY, Dataset, Resolution
from proxy.data.facts import AccessFacts, FactsLoader
from proxy.data.ratelimit import RecipientLimits
from proxy.data.trace import Trace
from proxy.upstream.fetcher import Upstream

#: The longest window one request may name: every day of the longest history a consent may
#: release (:data:`~consent.vocabulary.MAX_HISTORY`), today included. Checked first, by
#: arithmetic: a window of millions of days must not be laid out day by day to be refused.
MAX_WINDOW_DAYS = MAX_HISTORY.days + 1


class Reverify(Protocol):
    """The caller's credentials, judged again (:class:`proxy.auth.BearerRecheck`)."""

    def changed(self) -> bool:
        """True if a write they depend on was heard of since the request was let in."""
        ...

    async def __call__(self, at: datetime) -> None:
        """Raise if they would be refused at ``at``."""
        ...


#: How long a first decision's facts are judged again without being read again if no write
#: they depend on was heard of (:meth:`DataService._confirm`): the staleness the facts' caches
#: allow anyway (another replica's write reaches them within about a second,
#: ``consent.snapshots``).
RECHECK_AFTER = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the verified token's facts, as the checks see them, its tenant, and how
    to judge its token again before data leaves (``None``: nothing to judge again)."""

    grant: TokenGrant
    tenant: str
    reverify: Reverify | None = None


@dataclass(frozen=True, slots=True)
class OccupantRecord:
    """A record, and since when the household it was read for occupies the point (its move-in,
    R8): what tells one occupant's records from the next one's on the same point."""

    record: Record
    held_since: datetime | None


@dataclass(frozen=True, slots=True)
class Decision:
    """A request allowed: the facts and context it was allowed on, and the facts' cache
    generation taken before they were read (:meth:`DataService._confirm`)."""

    facts: AccessFacts
    ctx: AccessContext
    generation: tuple[int, int] | None


def _name_basis(trace: Trace, facts: AccessFacts, caller: Caller) -> None:
    """Write in ``trace`` the consent (or mandate) ``facts`` decide under."""
    consent = facts.consent
    trace.consent_id = (consent.consent_id or None) if consent is not None \
        else caller.grant.consent_id
    trace.mandate_id = consent.mandate_id if consent is not None else None


class DataService:
    """Checks, fetches and cuts; see the module docstring."""

    def __init__(self, facts: FactsLoader, upstreams: Mapping[Source, Upstream], policy: AllOf,
                 clock: Clock, limits: RecipientLimits | None = None) -> None:
        self.facts = facts
        self.upstreams = upstreams
        self.policy = policy
        self.clock = clock
        self.limits = limits

    async def admit(self, recipient_id: str) -> None:
        """Count one HTTP request of ``recipient_id`` against its rate limit, or raise
        :class:`~proxy.data.ratelimit.RecipientRateLimited` (429). Handlers call it once per
        request, malformed ones included: not per read, since a community aggregate reads
        every member's point for one request (R4), and its members must not be left out, nor
        the aggregate refused for too few of them, because of the organiser's own rate."""
        if self.limits is not None:
            await self.limits.check(recipient_id)

    @asynccontextmanager
    async def admitting(self, recipient_id: str) -> AsyncIterator[None]:
        """Run the block that reads what a request asks for (noting it in its trace), then
        :meth:`admit` the request, whether the block parsed it or refused it: a malformed
        request counts too, and over the limit the 429 is the answer."""
        try:
            yield
        finally:
            await self.admit(recipient_id)

    def _upstream(self, point: PointRef) -> Upstream:
        upstream = self.upstreams.get(point.source)
        if upstream is None:
            raise Unsupported(f"No data source is configured for {point.source.value} points.")
        return upstream

    async def _allow(self, caller: Caller, point: PointRef, dataset: Dataset,
                     days: DayRange | None, resolution: Resolution | None,
                     trace: Trace, community: str | None = None) -> Decision:
        trace.recipient_id = caller.grant.recipient_id
        trace.tenant = caller.tenant
        trace.point, trace.dataset = str(point), dataset.value
        trace.community_id = community
        at = self.clock.now()
        generation = self.facts.generation()  # before the read (SnapshotCache.put's rule)
        facts = await self.facts.load(recipient_id=caller.grant.recipient_id,
                                      consent_id=caller.grant.consent_id, point=point, at=at,
                                      tenant=caller.tenant, dataset=dataset)
        window = days.to_period(facts.timezone) if days is not None else None
        trace.window = window

        def asked(facts: AccessFacts) -> ReadRequest:
            chosen = resolution
            if dataset.spec.is_series and chosen is None:
                # Unspecified: the finest the consent releases (the native one if finer is
                # absent).
                consent = facts.consent
                chosen = consent.finest_for(dataset) if consent is not None \
                    else dataset.spec.finest
            return ReadRequest(point=point, dataset=dataset, at=at, window=window,
                               resolution=chosen, timezone=facts.timezone,
                               community_id=community, day_start=facts.day_start)

        facts, ctx = await self._judge(caller, facts, asked, trace)
        trace.decided_at = at
        return Decision(facts, ctx, generation)

    async def _judge(self, caller: Caller, facts: AccessFacts,
                     asked: Callable[[AccessFacts], ReadRequest],
                     trace: Trace) -> tuple[AccessFacts, AccessContext]:
        """The policy on the request ``asked`` under ``facts``; if it denies an app-wide
        token, under each other consent in force on the point that covers the dataset, then a
        mandate naming the recipient's organisation (:meth:`FactsLoader.alternatives`), each
        on its own facts: the first that allows decides, and is named in ``trace`` with the
        resolution it was judged at; if none does, the first denial is raised."""
        ctx = AccessContext(asked(facts), caller.grant, facts.consent, facts.facts)
        denial = self.policy.check(ctx)
        consent = facts.consent
        if denial is not None and caller.grant.consent_id is None and consent is not None \
                and consent.consent_id:
            request = ctx.request
            for other in await self.facts.alternatives(
                    recipient_id=caller.grant.recipient_id, point=request.point, at=request.at,
                    dataset=request.dataset, besides=consent.consent_id, tenant=caller.tenant):
                tried = AccessContext(asked(other), caller.grant, other.consent, other.facts)
                if self.policy.check(tried) is None:
                    facts, ctx, denial = other, tried, None
                    break
        _name_basis(trace, facts, caller)
        chosen = ctx.request.resolution
        trace.resolution = chosen.value if chosen is not None else None
        if denial is not None:
            raise denial.to_error()
        return facts, ctx

    def _stands(self, caller: Caller, first: Decision, trace: Trace, at: datetime) -> bool:
        """True if the facts of ``first`` are still those a reading would give (module
        docstring): under :data:`RECHECK_AFTER`, and under the caches' own lifetime (a cache
        that remembers less vouches for less), every fact from the caches, and no write heard
        of by them since they were read. Time has moved on: they must still be judged."""
        window = min(RECHECK_AFTER, timedelta(seconds=max(0.0, self.facts.ttl)))
        return (trace.decided_at is not None and at - trace.decided_at < window
                and self.facts.cached_only(first.facts)
                and first.generation is not None
                and self.facts.generation() == first.generation
                and (caller.reverify is None or not caller.reverify.changed()))

    async def _confirm(self, caller: Caller, first: Decision, trace: Trace) -> AccessFacts:
        """The policy again on the first decision's request, now, with the token and the
        facts read again (module docstring), unless they could not differ (then on the first
        facts, and read again only if those are denied now): raises the denial, or
        dates the release in ``trace`` and names there the basis it was allowed under (for an
        app-wide token, a consent renewed or a mandate taking over during the call: the event
        must name what allowed the release at its instant, as the auditor's coverage check
        judges it)."""
        at = self.clock.now()
        request = replace(first.ctx.request, at=at)
        if (self._stands(caller, first, trace, at)
                and self.policy.check(replace(first.ctx, request=request)) is None):
            trace.decided_at = at  # the same facts, judged at the release's instant
            return first.facts
        if caller.reverify is not None:
            await caller.reverify(at)  # revoked, or its recipient suspended, meanwhile?
        facts = await self.facts.load(recipient_id=caller.grant.recipient_id,
                                      consent_id=caller.grant.consent_id, point=request.point,
                                      at=at, tenant=caller.tenant, dataset=request.dataset)
        facts, _ = await self._judge(caller, facts, lambda _facts: request, trace)
        trace.decided_at = at
        return facts

    async def series(self, caller: Caller, point: PointRef, dataset: Dataset, days: DayRange,
                     resolution: Resolution | None, trace: Trace, *,
                     native: bool = False, community: str | None = None) -> Series:
        """The consent's view of ``dataset`` of ``point`` over ``days`` (local calendar days).

        With ``resolution`` ``None`` the answer comes at the finest resolution the consent
        releases, or the finest coarser one the point's native step makes whole intervals of
        (:func:`~consent.aggregation.reaches`). With ``native`` the answer is the point's native
        step or nothing (a Data Connect load curve): once every other rule has passed, the
        policy is asked again with that step, so a consent capped at P1D is denied the curve
        rather than served daily values where a curve is expected.

        ``community`` names the community whose aggregate the series is one member's part of
        (R4): a community consent of that community then releases it, and only then.
        """
        if days.days > MAX_WINDOW_DAYS:
            raise InvalidPeriod(f"A window may not exceed {MAX_WINDOW_DAYS} days (this one has "
                                f"{days.days}).", field="end", max_days=MAX_WINDOW_DAYS)
        finest = dataset.spec.finest
        if resolution is not None and finest is not None and resolution.finer_than(finest):
            # A request error, whatever the consent: daily values have no half-hours.
            raise unreachable(dataset, point, finest, resolution, reachable(finest))
        if resolution is not None and not holds_whole(days, resolution):
            raise InvalidPeriod(f"The window holds no whole {resolution.value} interval (weeks "
                                "run from a Monday, months and years from their first day): "
                                "it would be served nothing.", field="start",
                                resolution=resolution.value)
        first = await self._allow(caller, point, dataset, days, resolution, trace, community)
        facts, ctx = first.facts, first.ctx
        window = ctx.request.window
        assert window is not None
        upstream = self._upstream(point)
        recipient = caller.grant.recipient_id
        cap = ctx.request.resolution
        if native:
            step, _ = await upstream.native_resolution(point, dataset, recipient, trace.report,
                                                       cap)
            # Under each consent that could release the step, as any read (_judge): a later
            # consent capped at daily values must not hide an earlier one releasing the curve.
            at_step = replace(ctx.request, resolution=step)
            facts, ctx = await self._judge(caller, facts, lambda _facts: at_step, trace)
            first = replace(first, facts=facts, ctx=ctx)
            cap = step
        fetched = await upstream.series(point, dataset, window, recipient=recipient,
                                        report=trace.report, cap=cap, tenant=facts.tenant)
        facts = await self._confirm(caller, first, trace)
        target = Resolution(trace.resolution) if trace.resolution else fetched.resolution
        if resolution is None and not reaches(fetched.resolution, target):
            # The finest the data makes whole intervals of, within the consent's cap: a PT30M
            # curve for a PT15M cap, a PT30M one for PT10M readings under a PT15M cap.
            coarser = [r for r in reachable(fetched.resolution) if not r.finer_than(target)]
            if coarser:
                target = coarser[0]
                trace.resolution = target.value
        if not reaches(fetched.resolution, target):
            # What the data makes whole intervals of *and* the consent releases (R6: a denial
            # says what would be allowed).
            finest = facts.consent.finest_for(dataset) if facts.consent is not None else None
            raise unreachable(dataset, point, fetched.resolution, target, [
                r for r in reachable(fetched.resolution)
                if finest is None or not r.finer_than(finest)])
        return view(fetched, window, target)

    async def record(self, caller: Caller, point: PointRef, dataset: Dataset,
                     trace: Trace) -> OccupantRecord:
        """The current occupant's ``dataset`` record, cut to the fields the consent releases,
        without payment-difficulty signals whoever asks (R13)."""
        first = await self._allow(caller, point, dataset, None, None, trace)
        assert first.facts.consent is not None  # the policy denies without one
        record = await self._upstream(point).record(
            point, dataset, recipient=caller.grant.recipient_id, report=trace.report)
        facts = await self._confirm(caller, first, trace)
        assert facts.consent is not None
        now = trace.decided_at
        assert now is not None  # set by _confirm
        held = [p.start for p in (facts.facts.occupancy if facts.facts else ())
                if p.start is not None and p.contains(now)]
        return OccupantRecord(redact(cut_record(record, facts.consent.fields_for(dataset))),
                              held[0] if held else None)

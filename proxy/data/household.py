"""The household reading its own data on its page, through the same data path as the API (R20).

:class:`HouseholdReader` uses the :class:`~proxy.data.service.DataService`'s upstreams (day
cache, per-call windows, fair limiter: the household is one more caller, keyed
``household:<party id>``) and its access-event sink. The window asked for is first cut to what
may be read (the household's occupancy of the point, the upstream authorisation, three years,
what the DSO publishes), then checked by :func:`consent.own_access.household_policy` anyway, so
a mistake in the cutting denies instead of leaking (R8). Every read leaves an access event with
API ``portal`` (R16), which the household's access history leaves out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import col, select

from adapters.errors import UnsupportedDataset
from consent.access import AccessContext, PointFacts, ReadRequest
from consent.access_events import AccessEvent, AccessEventSink, Outcome
from consent.aggregation import view
from consent.checks import AllOf
from consent.clock import Clock
from consent.dashboard import PORTAL_API
from consent.identifiers import Source
from consent.models import MeteringPoint, Occupancy, UpstreamAuthorisation
from consent.periods import Period
from consent.readings import Series
from consent.storage import Database
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Energy, Resolution, history_floor
from proxy.upstream.calls import FetchReport
from proxy.upstream.fetcher import Upstream


@dataclass(frozen=True, slots=True)
class Readable:
    """What the household may read of one dataset of a point now: the window, in its zone."""

    window: Period | None
    zone: ZoneInfo


class HouseholdReader:
    """See the module docstring."""

    def __init__(self, db: Database, upstreams: Mapping[Source, Upstream], sink: AccessEventSink,
                 clock: Clock, policy: AllOf) -> None:
        self.db = db
        self.upstreams = upstreams
        self.sink = sink
        self.clock = clock
        self.policy = policy

    async def _facts(self, household_id: str, point: MeteringPoint) -> PointFacts:
        async with self.db.session() as session:
            occupancy = (await session.exec(select(Occupancy).where(
                Occupancy.point_id == point.id,
                Occupancy.household_id == household_id))).all()
            upstream = (await session.exec(select(UpstreamAuthorisation).where(
                UpstreamAuthorisation.point_id == point.id,
                UpstreamAuthorisation.state == UpstreamState.ACTIVE,
                or_(col(UpstreamAuthorisation.household_id) == household_id,
                    col(UpstreamAuthorisation.household_id).is_(None))))).all()
        now = self.clock.now()
        periods = [Period(u.valid_from, u.valid_until) for u in upstream]
        current = [p for p in periods if p.contains(now)]
        return PointFacts(occupancy=tuple(o.period for o in occupancy),
                          upstream=max(current or periods, key=lambda p: p.start)
                          if periods else None)

    async def readable(self, household_id: str, point: MeteringPoint,
                       dataset: Dataset) -> Readable:
        """The widest window the household may read of ``dataset`` now (``None``: nothing)."""
        zone = ZoneInfo(point.timezone)
        upstream = self.upstreams.get(Source(point.source))
        facts = await self._facts(household_id, point)
        now = self.clock.now()
        if upstream is None or facts.upstream is None or not facts.occupancy:
            return Readable(None, zone)
        info = await upstream.describe(point.ref, _caller(household_id))
        try:
            published = info.availability(dataset).period
        except UnsupportedDataset:
            return Readable(None, zone)
        current = [p for p in facts.occupancy if p.contains(now)]
        # A day inside R12's three years, so whole local days starting there always pass.
        window: Period | None = Period(history_floor(now) + timedelta(days=1), None)
        for bound in (current[0] if current else None, facts.upstream, published):
            window = window.intersection(bound) if window is not None and bound else None
        return Readable(window, zone)

    async def daily(self, household_id: str, point: MeteringPoint, dataset: Dataset,
                    window: Period, *, request_id: str, route: str) -> Series:
        """Daily values of ``dataset`` over ``window`` (local days), checked and evidenced."""
        at = self.clock.now()
        request = ReadRequest(point=point.ref, dataset=dataset, at=at, window=window,
                              resolution=Resolution.P1D, timezone=ZoneInfo(point.timezone),
                              day_start=Energy(point.energy).day_start)
        facts = await self._facts(household_id, point)
        report = FetchReport()
        event = AccessEvent(
            at=at, request_id=request_id, api=PORTAL_API, route=route, outcome=Outcome.SERVED,
            status=200, body_sha256="", point=str(point.ref), dataset=dataset.value,
            window_start=window.start, window_end=window.end, resolution=Resolution.P1D.value,
            tenant_id=point.tenant_id)
        denial = self.policy.check(AccessContext(request, None, None, facts))
        if denial is not None:
            await self.sink.append(replace(event, outcome=Outcome.DENIED, status=403,
                                           body_sha256=_sha(b""), rule=denial.rule,
                                           reason=denial.detail[:500]))
            raise denial.to_error()
        upstream = self.upstreams[Source(point.source)]
        # The household's own page shows its whole history (it chose no window to shorten):
        # not bounded like an app's request, and mostly from the cache after the first view.
        fetched = await upstream.series(point.ref, dataset, window, recipient=_caller(
            household_id), report=report, cap=Resolution.P1D, tenant=point.tenant_id,
            max_calls=None)
        series = view(fetched, window, Resolution.P1D)
        body = json.dumps(series.to_json(), separators=(",", ":")).encode()
        await self.sink.append(replace(
            event, body_sha256=_sha(body), values=len(series.readings),
            upstream_calls=report.upstream_calls, cache_days=report.cache_days,
            upstream=tuple(report.calls)))
        return series


def _caller(household_id: str) -> str:
    return f"household:{household_id}"


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()

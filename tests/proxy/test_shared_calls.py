"""Calls in flight shared between requests, by day (found by the second upstream review): a
rider gets each day once, however its window and the call it rides overlap, and a call
another recipient's limiter turn refused is made again as itself; a failure of our own
storage under an adapter is not blamed on the DSO."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy.exc

from adapters.base import Capabilities, DatasetAvailability, DatasetLimits, PointInfo
from adapters.errors import QuotaBusy, ShareSpent
from adapters.quota import current_recipient
from consent.clock import FrozenClock
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.readings import Reading, Series
from consent.vocabulary import Dataset, Direction, Energy, Resolution
from proxy.upstream.calls import FetchReport
from proxy.upstream.fetcher import Upstream

PARIS = ZoneInfo("Europe/Paris")
PRM = PointRef(Source.ENEDIS, "12345678901234")


def d(n: int) -> date:
    return date(2026, 9, n)


def win(a: int, b: int) -> Period:  # days a..b-1
    return Period(datetime(2026, 9, a, tzinfo=PARIS), datetime(2026, 9, b, tzinfo=PARIS))


class Dso:
    """Days of September valued by their day of the month; a call can be held at a gate,
    or fail for one recipient."""

    def __init__(self) -> None:
        self.calls: list[tuple[date, date, str]] = []
        self.gates: dict[date, asyncio.Event] = {}
        self.fail_for: dict[str, BaseException] = {}
        self.describes = 0

    async def describe(self, point: PointRef) -> PointInfo:
        self.describes += 1
        return PointInfo(point, Energy.ELECTRICITY, frozenset({Direction.CONSUMPTION}),
                         "Europe/Paris", (DatasetAvailability(Dataset.DAILY_CONSUMPTION,
                                                              (Resolution.P1D,), None),))

    async def series(self, point: PointRef, dataset: Dataset, period: Period,
                     resolution: Resolution) -> Series:
        assert period.end is not None
        first, end = period.start.astimezone(PARIS).date(), period.end.astimezone(PARIS).date()
        who = current_recipient()
        self.calls.append((first, end, who))
        gate = self.gates.get(first)
        if gate is not None:
            await gate.wait()
        if who in self.fail_for:
            raise self.fail_for[who]
        days = [first + timedelta(days=k) for k in range((end - first).days)]
        readings = tuple(Reading(datetime(x.year, x.month, x.day, tzinfo=PARIS),
                                 datetime(x.year, x.month, x.day, tzinfo=PARIS)
                                 + timedelta(days=1), Decimal(x.day)) for x in days)
        return Series(point, dataset, "Wh", resolution, "Europe/Paris", readings)


def caps(per_call: timedelta | None = timedelta(days=7)) -> Capabilities:
    return Capabilities("dso", frozenset({Source.ENEDIS}), (DatasetLimits(
        Dataset.DAILY_CONSUMPTION, frozenset({Energy.ELECTRICITY}), (Resolution.P1D,),
        per_call, None),), (), False)


def upstream(dso: Dso, per_call: timedelta | None = timedelta(days=7)) -> Upstream:
    return Upstream(dso, caps(per_call), FrozenClock(datetime(2026, 10, 1, 12, tzinfo=PARIS)))


async def _a_then_b(dso: Dso, a: Period, b: Period) -> list[Series | BaseException]:
    """Recipient a asks ``a``, its DSO call held at its first day until b has asked ``b``
    (riding a's call where it can); both outcomes."""
    up = upstream(dso)
    await up.describe(PRM, "x")
    held = dso.gates[a.start.astimezone(PARIS).date()] = asyncio.Event()
    asked = []
    for recipient, window in (("a", a), ("b", b)):
        asked.append(asyncio.create_task(up.series(PRM, Dataset.DAILY_CONSUMPTION, window,
                                                   recipient=recipient,
                                                   report=FetchReport())))
        await asyncio.sleep(0.01)
    held.set()
    return list(await asyncio.gather(*asked, return_exceptions=True))


async def test_a_rider_gets_each_day_once() -> None:
    """a asks days 3-4 (held); b asks 1-6: b's own call covers 1-6 and it rides a's for
    nothing, each day once (it got 3 and 4 twice, a 200 with eight values)."""
    _, got = await _a_then_b(Dso(), win(3, 5), win(1, 7))
    assert isinstance(got, Series), got
    assert [r.start.date() for r in got.readings] == [d(n) for n in range(1, 7)]
    assert [r.value for r in got.readings] == [Decimal(n) for n in range(1, 7)]


async def test_a_rider_is_not_refused_for_another_recipients_turn() -> None:
    """b rides a's call, which a's limiter turn refused (a's share spent): b asks again as
    itself and is served, rather than answered 429 with a's wait."""
    dso = Dso()
    dso.fail_for["a"] = ShareSpent("a's share is spent", retry_after=1800)
    first, second = await _a_then_b(dso, win(1, 8), win(1, 8))
    assert isinstance(first, ShareSpent)
    assert isinstance(second, Series), second
    assert len(second.readings) == 7
    assert [who for _, _, who in dso.calls] == ["a", "b"]


async def test_our_own_storage_failing_under_an_adapter_is_not_blamed_on_the_dso() -> None:
    """A quota ledger's database failing under an adapter call is ours: it goes to the HTTP
    edge as it is (a 503 while the database is away), not as the DSO's malformed answer."""

    class LedgerDown(Dso):
        async def series(self, point: PointRef, dataset: Dataset, period: Period,
                         resolution: Resolution) -> Series:
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("refused"))

    up = upstream(LedgerDown())
    with pytest.raises(sqlalchemy.exc.OperationalError):
        await up.series(PRM, Dataset.DAILY_CONSUMPTION, win(1, 3), recipient="a",
                        report=FetchReport())


async def test_our_own_chunk_joining_another_recipients_refused_call_is_asked_again() -> None:
    """b asks days 1-14 (two calls, the first held); meanwhile a starts 8-14, its share spent.
    b's second call joins a's (same days): refused for a's share, b asks those days again as
    itself, within its bound (found by review: a's 429 reached b)."""
    dso = Dso()
    dso.fail_for["a"] = ShareSpent("a's share is spent", retry_after=1800)
    up = upstream(dso)
    await up.describe(PRM, "x")
    dso.gates[d(1)], dso.gates[d(8)] = asyncio.Event(), asyncio.Event()
    b = asyncio.create_task(up.series(PRM, Dataset.DAILY_CONSUMPTION, win(1, 15),
                                      recipient="b", report=FetchReport()))
    await asyncio.sleep(0.01)
    a = asyncio.create_task(up.series(PRM, Dataset.DAILY_CONSUMPTION, win(8, 15),
                                      recipient="a", report=FetchReport()))
    await asyncio.sleep(0.01)
    dso.gates[d(1)].set()
    await asyncio.sleep(0.01)
    dso.gates[d(8)].set()
    first, second = await asyncio.gather(a, b, return_exceptions=True)
    assert isinstance(first, ShareSpent)
    assert isinstance(second, Series), second
    assert [r.start.date() for r in second.readings] == [d(n) for n in range(1, 15)]


async def test_asking_again_never_goes_beyond_the_call_bound() -> None:
    """a's two calls (3-9, 10-16) are refused for its share; b (1-14, at most 2 calls) rode
    them and made one of its own: asking 3-14 again would take two more. b is told the data
    source is busy (503, not a's share), with no call beyond its bound."""
    dso = Dso()
    dso.fail_for["a"] = ShareSpent("a's share is spent", retry_after=1800)
    up = upstream(dso)
    await up.describe(PRM, "x")
    dso.gates[d(3)], dso.gates[d(10)] = asyncio.Event(), asyncio.Event()
    held = [asyncio.create_task(up.series(PRM, Dataset.DAILY_CONSUMPTION, window,
                                          recipient="a", report=FetchReport()))
            for window in (win(3, 10), win(10, 17))]
    await asyncio.sleep(0.01)
    b = asyncio.create_task(up.series(PRM, Dataset.DAILY_CONSUMPTION, win(1, 15),
                                      recipient="b", report=FetchReport(), max_calls=2))
    await asyncio.sleep(0.01)
    dso.gates[d(3)].set()
    dso.gates[d(10)].set()
    *_, got = await asyncio.gather(*held, b, return_exceptions=True)
    assert type(got) is QuotaBusy, got
    assert (got.status, got.retry_after) == (503, 1800)
    assert [(first, who) for first, _, who in dso.calls if who == "b"] == [(d(1), "b")]

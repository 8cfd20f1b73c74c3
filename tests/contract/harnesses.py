"""One :class:`Harness` per adapter under contract, each over the same simulator and clock.

A harness says what its adapter is expected to offer (points of which sources, datasets,
meter port, how many attempts a safe call makes, which fields its DSO does not publish, which
member a malformed answer is reported under), so that one suite asks every adapter the same
questions and holds it to the simulator's answers wherever the DSO can give them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import aiohttp

from adapters.base import MeterDataAdapter, Quota
from adapters.enedis import EnedisAdapter, EnedisConfig, Generation
from adapters.fakes.common import serve
from adapters.fakes.enedis import ENEDIS_KEY, EnedisFakeConfig, create_enedis_app
from adapters.fakes.grdf import API_PREFIX, GRDF_KEY, TOKEN_PATH, GrdfFakeConfig, create_grdf_app
from adapters.grdf.adapter import GrdfAdapter
from adapters.grdf.config import GrdfConfig
from adapters.grdf.vocabulary import Role
from adapters.inhouse.client import InhouseClient
from adapters.inhouse.config import ServerConfig
from adapters.inhouse.server import create_inhouse_app
from adapters.limiter import FairLimiter
from adapters.simulator import Occupant, PointProfile, Simulator, SimulatorAdapter, derive_profile
from adapters.timekeeping import at_hour
from adapters.transport import RetryPolicy
from consent.clock import FrozenClock
from consent.identifiers import PointRef, Source
from consent.periods import Period, add_months
from consent.shared_state.quota import MemoryLedger, QuotaLedger, SlidingWindow
from consent.vocabulary import Dataset, Resolution

NOW = datetime(2026, 10, 15, 10, 0, tzinfo=UTC)
TIMEOUT = 2.0  # seconds: roomy for a loaded 2-core machine (1 s was passed once, at a load
# of 8 on 2 cores, by a GRDF token answer); fault tests inject 3 s

LONG = PointRef(Source.ENEDIS, "22516914714270")  # same occupant for years, with PV
MOVED = PointRef(Source.ENEDIS, "11453290002823")  # new occupant since 2026-09-10
GAS = PointRef(Source.GRDF, "23000000000000")
VACANT = PointRef(Source.ENEDIS, "32320647321714")  # last occupant left in June
NO_CURVE = PointRef(Source.ENEDIS, "42900589957123")  # load curve not recorded
EAN = PointRef(Source.INHOUSE, "541441000000123458")
UNKNOWN = PointRef(Source.ENEDIS, "12345678999999")  # reserved: unknown to the simulator
GAS_MOVED = PointRef(Source.GRDF, "GI060511")  # older PCE format; new holder since 2026-09-10
GAS_VACANT = PointRef(Source.GRDF, "23000000000017")  # last holder left in June
GAS_UNKNOWN = PointRef(Source.GRDF, "23000000099999")
#: Known to the DSO, but its first occupant moves in next month: no authorisation at all yet.
UNCLAIMED = PointRef(Source.ENEDIS, "22516914714288")
GAS_UNCLAIMED = PointRef(Source.GRDF, "23000000000025")

CLIENT_ID, CLIENT_SECRET = "passerelle", "s3cret-for-tests"
#: Quotas generous enough that the contract suite never waits (quotas have their own tests).
ROOMY = (Quota(500, timedelta(seconds=1)), Quota(100_000, timedelta(hours=1), "api"))
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=2.0)


def clocked_limiter(clock: FrozenClock, share: float = 1.0) -> FairLimiter:
    """A limiter counting on ``clock``: a 429's hold ends when the test moves the clock past
    its Retry-After; a wait the frozen clock would never end is refused at once."""
    def seconds() -> float:
        return clock.now().timestamp()

    def ledgers(windows: Sequence[SlidingWindow]) -> QuotaLedger:
        return MemoryLedger(windows, seconds=seconds)

    return FairLimiter(max_wait=0.5, ledgers=ledgers, seconds=seconds, share=share)


def _one(customer: str, move_in: date, move_out: date | None = None) -> Occupant:
    return Occupant(customer, move_in, move_out, "Mme", "Alice", "Martin",
                    "alice@example.org", "+33 600000000")


def profiles() -> list[PointProfile]:
    long_ago = date(2015, 3, 1)
    commissioned = {"commissioned": date(2017, 1, 1)}
    return [
        derive_profile(LONG, occupants=(_one("C1", long_ago),), has_production=True,
                       **commissioned),
        derive_profile(MOVED, occupants=(_one("C2", long_ago, date(2026, 9, 1)),
                                         _one("C3", date(2026, 9, 10))), has_production=False,
                       **commissioned),
        derive_profile(GAS, occupants=(_one("C4", long_ago),), **commissioned),
        derive_profile(VACANT, occupants=(_one("C5", long_ago, date(2026, 6, 1)),),
                       **commissioned),
        derive_profile(NO_CURVE, occupants=(_one("C6", long_ago),), load_curve_enabled=False,
                       **commissioned),
        derive_profile(GAS_MOVED, occupants=(_one("C7", long_ago, date(2026, 9, 1)),
                                             _one("C8", date(2026, 9, 10))), **commissioned),
        derive_profile(GAS_VACANT, occupants=(_one("C9", long_ago, date(2026, 6, 1)),),
                       **commissioned),
        *(derive_profile(point, occupants=(_one("C10", date(2026, 11, 2)),), **commissioned)
          for point in (UNCLAIMED, GAS_UNCLAIMED)),
    ]


@dataclass(frozen=True)
class Points:
    """The roles the suite's questions need, as points this adapter can be asked about."""

    long: PointRef = LONG
    moved: PointRef = MOVED
    vacant: PointRef = VACANT
    no_curve: PointRef | None = NO_CURVE
    gas: PointRef | None = GAS
    ean: PointRef | None = EAN
    unknown: PointRef = UNKNOWN
    #: A point the operator holds no authorisation for (``None``: the DSO cannot say so).
    unclaimed: PointRef | None = UNCLAIMED


@dataclass
class Harness:
    """One adapter under test, the simulator behind it, and what it is expected to offer."""

    adapter: MeterDataAdapter
    simulator: Simulator
    clock: FrozenClock
    wire: bool  # True when a real HTTP exchange sits between adapter and simulator
    name: str = "in-process"
    limited: bool = False  # its DSO announces quotas: a 429 holds the API (clocked limiter)
    points: Points = field(default_factory=Points)
    datasets: frozenset[Dataset] = frozenset(Dataset)
    meter_port: bool = True
    exact: bool = True  # describe, authorisation and occupancy equal the simulator's
    attempts: int = 1  # tries of a safe call on a 5xx
    curve_window: timedelta | None = None
    quota_periods: frozenset[timedelta] = frozenset()
    missing_fields: dict[Dataset, frozenset[str]] = field(default_factory=dict)
    malformed: dict[str, str] = field(default_factory=dict)
    #: Native resolutions the DSO has beyond the simulator's (ADICT's billing periods, P1M).
    extra_resolutions: frozenset[Resolution] = frozenset()
    #: The period the adapter serves where the simulator serves ``period`` (a DSO's own
    #: history may be shorter): identity unless the DSO says otherwise.
    expected: Callable[[Dataset, Period | None], Period | None] = lambda _d, period: period


def simulator_harness(simulator: Simulator, clock: FrozenClock) -> Harness:
    return Harness(SimulatorAdapter(simulator, timeout=TIMEOUT), simulator, clock, wire=False)


@asynccontextmanager
async def inhouse_harness(simulator: Simulator, clock: FrozenClock) -> AsyncIterator[Harness]:
    config = ServerConfig(clients={CLIENT_ID: CLIENT_SECRET}, admin_token="admin-for-tests",
                          quotas=ROOMY)
    async with serve(create_inhouse_app(simulator, config)) as url, \
            aiohttp.ClientSession() as session:
        client = InhouseClient(session, url, CLIENT_ID, CLIENT_SECRET, timeout=TIMEOUT,
                               clock=clock, limiter=clocked_limiter(clock))
        yield Harness(client, simulator, clock, wire=True, name="inhouse-http", limited=True,
                      curve_window=timedelta(days=31),
                      quota_periods=frozenset({timedelta(seconds=1), timedelta(hours=1)}),
                      malformed={"series": "values[0].value", "occupancy": "point"})


#: Who consented when at Enedis (seeded as the proxy would have recorded them).
ENEDIS_CONSENTS = {LONG: date(2025, 1, 1), MOVED: date(2026, 9, 12), VACANT: date(2025, 1, 1),
                   NO_CURVE: date(2025, 1, 1)}


@asynccontextmanager
async def enedis_harness(simulator: Simulator, clock: FrozenClock,
                         generation: Generation) -> AsyncIterator[Harness]:
    fake = EnedisFakeConfig(clients={CLIENT_ID: CLIENT_SECRET}, quotas=ROOMY)
    app = create_enedis_app(simulator, fake)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        config = EnedisConfig(CLIENT_ID, CLIENT_SECRET, base_url=url, generation=generation,
                              timeout=TIMEOUT, retry=FAST_RETRY, quotas=ROOMY)
        adapter = EnedisAdapter(session, config, clock=clock, limiter=clocked_limiter(clock))
        v5 = generation is Generation.V5
        for point, given in ENEDIS_CONSENTS.items():
            autorisation = app[ENEDIS_KEY].grant((point.identifier,), given, 1095)
            validity = Period(at_hour(given, "Europe/Paris"),
                              at_hour(given + timedelta(days=1095), "Europe/Paris"))
            upstream_id = f"v1:{point.identifier}" if v5 else str(autorisation.autorisation_id)
            await adapter.directory.remember(point, upstream_id, validity)
        datasets = frozenset(Dataset) - ({Dataset.CONSUMPTION_INDEX, Dataset.PRODUCTION_INDEX}
                                         if v5 else set())
        yield Harness(
            adapter, simulator, clock, wire=True, name=f"enedis-{generation.value}", limited=True,
            # v5 has no state API: a point without a recorded consent is probed, not absent.
            points=Points(gas=None, ean=None, unclaimed=None if v5 else UNCLAIMED),
            datasets=datasets, meter_port=False,
            exact=False, attempts=FAST_RETRY.attempts, curve_window=timedelta(days=7),
            quota_periods=frozenset({timedelta(seconds=1), timedelta(hours=1)}),
            missing_fields={Dataset.CONTRACT: frozenset({"supplier"} if v5 else
                                                        {"contract_status"})},
            malformed={"series": "meter_reading.interval_reading[0].value",
                       "occupancy": "customer.usage_points[0].contracts.last_activation_date"}
            if v5 else {"series": "grandeur[0].points[0].v", "occupancy": "[0].contract_start"})


def with_points(harness: Harness, **roles: PointRef | None) -> Harness:
    return replace(harness, points=replace(harness.points, **roles))


#: Droits d'accès the proxy declared at GRDF (seeded: declared, validated, proofs sent).
GRDF_RIGHTS = {GAS: (date(2025, 1, 1), date(2023, 1, 1)),
               GAS_MOVED: (date(2026, 9, 12), date(2026, 9, 10)),
               GAS_VACANT: (date(2025, 1, 1), date(2023, 1, 1))}


def _three_years(dataset: Dataset, period: Period | None) -> Period | None:
    """ADICT serves three calendar years back, the simulator 1,110 days."""
    if period is None:
        return None
    lower = at_hour(add_months(NOW.date(), -36), "Europe/Paris")
    return Period(max(period.start, lower), period.end)


@asynccontextmanager
async def grdf_harness(simulator: Simulator, clock: FrozenClock) -> AsyncIterator[Harness]:
    app = create_grdf_app(simulator, GrdfFakeConfig(clients={CLIENT_ID: CLIENT_SECRET},
                                                    quotas=ROOMY))
    for point, (declared, data_from) in GRDF_RIGHTS.items():
        profile = simulator.profile(point)
        holder = profile.occupant_on(declared)
        assert holder is not None
        app[GRDF_KEY].seed(point.identifier, Role.AUTORISE_CONTRAT_FOURNITURE, declared,
                           holder.lastname or "", holder.email or "", profile.address.postal_code,
                           data_from)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        config = GrdfConfig(CLIENT_ID, CLIENT_SECRET, base_url=url + API_PREFIX,
                            token_url=url + TOKEN_PATH, timeout=TIMEOUT, retry=FAST_RETRY,
                            quotas=ROOMY)
        adapter = GrdfAdapter(session, config, clock=clock, limiter=clocked_limiter(clock))
        yield Harness(
            adapter, simulator, clock, wire=True, name="grdf", limited=True,
            points=Points(long=GAS, moved=GAS_MOVED, vacant=GAS_VACANT, no_curve=None,
                          gas=GAS, ean=None, unknown=GAS_UNKNOWN, unclaimed=GAS_UNCLAIMED),
            datasets=frozenset({Dataset.DAILY_CONSUMPTION, Dataset.CONTRACT, Dataset.ADDRESS}),
            meter_port=False, exact=False, attempts=FAST_RETRY.attempts,
            quota_periods=frozenset({timedelta(seconds=1), timedelta(hours=1)}),
            missing_fields={Dataset.CONTRACT: frozenset({"segment", "contract_status",
                                                         "supplier", "meter_type"}),
                            Dataset.ADDRESS: frozenset({"insee_code"})},
            malformed={"series": "line[0].consommation.energie",
                       "occupancy": "line[0].donnees_contractuelles.date_mes"},
            extra_resolutions=frozenset({Resolution.P1M}), expected=_three_years)

"""How fast does the simulator produce a year of quarter-hour data for one point?

Prints times and ratios against a baseline measured in the same run: building the same number
of :class:`consent.readings.Reading` objects from constants (the floor any adapter pays).
Run: ``python bench/bench_simulator.py``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from adapters.simulator import Simulator
from consent.clock import FrozenClock
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.readings import Quality, Reading
from consent.vocabulary import Dataset, Resolution


def main() -> None:
    clock = FrozenClock(datetime(2026, 10, 15, 10, tzinfo=UTC))
    points = [PointRef(Source.ENEDIS, f"{22516914714270 + k:014d}") for k in range(5)]
    start = datetime(2025, 10, 15, tzinfo=UTC)
    a, b = start, start + timedelta(minutes=15)
    t0 = time.perf_counter()
    for _ in range(35040):
        Reading(a, b, Decimal(412), Quality.RAW)
    baseline = time.perf_counter() - t0
    simulator = Simulator(clock)
    cold, warm = [], []
    for point in points:
        period = simulator.describe(point).availability(Dataset.CONSUMPTION_LOAD_CURVE).period
        assert period is not None
        assert period.end is not None
        year = Period(max(period.start, period.end - timedelta(days=365)), period.end)
        for times in (cold, warm):
            t0 = time.perf_counter()
            simulator.series(point, Dataset.CONSUMPTION_LOAD_CURVE, year, Resolution.PT15M)
            times.append(time.perf_counter() - t0)
    cold_ms, warm_ms = 1000 * sum(cold) / len(cold), 1000 * sum(warm) / len(warm)
    print(f"baseline: 35,040 Readings from constants  {1000 * baseline:7.1f} ms")
    print(f"one point-year PT15M, first request       {cold_ms:7.1f} ms  "
          f"({cold_ms / (1000 * baseline):.1f}x baseline)")
    print(f"one point-year PT15M, repeated (cached)   {warm_ms:7.1f} ms  "
          f"({warm_ms / (1000 * baseline):.2f}x baseline)")


if __name__ == "__main__":
    main()

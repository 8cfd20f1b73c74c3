"""Deterministic weather: temperature, daylight and cloudiness, from the date alone.

Every point of one region sees the same weather on the same day (as real neighbours do), so gas
and electric heating of two households rise together in a cold spell. Nothing here draws from a
global random state: :func:`unit` hashes its arguments (splitmix64), which is fast enough to be
called per day and reproducible across runs and machines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

_MASK = (1 << 64) - 1


def mix(*parts: int) -> int:
    """A 64-bit hash of ``parts`` (splitmix64 finaliser chained over the parts)."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
        x ^= x >> 31
    return x


def unit(*parts: int) -> float:
    """A deterministic number in ``[0, 1)`` from ``parts``."""
    return (mix(*parts) >> 11) / float(1 << 53)


@dataclass(frozen=True, slots=True)
class Climate:
    """A region's climate: mean and seasonal swing of daily temperature, latitude, longitude."""

    region: int
    mean_temperature: float
    seasonal_swing: float
    latitude: float
    longitude: float


#: Paris basin and Wallonia/Brussels: close enough to national averages for a simulator.
CLIMATES = {
    "Europe/Paris": Climate(1, 12.3, 7.8, 47.0, 2.4),
    "Europe/Brussels": Climate(2, 10.8, 7.2, 50.6, 4.5),
}

_WEATHER = 0x57EA7


def _anomaly(climate: Climate, ordinal: int) -> float:
    # A weather spell lasts days: average three consecutive white-noise draws, then widen.
    draws = (unit(_WEATHER, climate.region, ordinal + k) for k in (-1, 0, 1))
    return (sum(draws) / 3 - 0.5) * 14.0


def daily_temperature(climate: Climate, day: date) -> float:
    """Mean temperature of ``day`` in °C: seasonal cosine (coldest mid-January) plus a spell."""
    doy = day.timetuple().tm_yday
    seasonal = climate.mean_temperature - climate.seasonal_swing * math.cos(
        2 * math.pi * (doy - 15) / 365.25)
    return seasonal + _anomaly(climate, day.toordinal())


def heating_degrees(climate: Climate, day: date, base: float) -> float:
    """Heating degree-day of ``day`` against ``base`` °C (0 on warm days)."""
    return max(0.0, base - daily_temperature(climate, day))


def daylight(climate: Climate, day: date) -> tuple[float, float]:
    """Sunrise and sunset of ``day`` in UTC hours (standard declination formula)."""
    doy = day.timetuple().tm_yday
    declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365)
    cos_hour = -math.tan(math.radians(climate.latitude)) * math.tan(declination)
    half_day = math.degrees(math.acos(max(-1.0, min(1.0, cos_hour)))) / 15.0
    solar_noon = 12.0 - climate.longitude / 15.0
    return solar_noon - half_day, solar_noon + half_day


def clear_sky_yield(day: date) -> float:
    """kWh produced per kWc on a cloudless ``day`` (about 1.3 in December, 6.4 in June)."""
    doy = day.timetuple().tm_yday
    return 3.85 - 2.55 * math.cos(2 * math.pi * (doy + 10) / 365.25)


def clearness(climate: Climate, day: date) -> float:
    """Share of the clear-sky yield reached on ``day``: overcast 0.1 to clear 1.0."""
    r = unit(_WEATHER, climate.region, day.toordinal(), 7)
    return 0.1 + 0.9 * (1.0 - r * r)

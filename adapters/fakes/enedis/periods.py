"""Request checks and simulator translation shared by the fake's 2026 and v5 measure routes.

Both generations take a PRM and two days ``[start, end[`` and enforce the same documented limits:
start strictly before end, end not after today (data up to D-1), 7 days at most for a load curve,
24 months + 15 days of curve history, 36 months + 15 days of daily history. Errors are built by
the generation's own ``make_error(status, code, message)``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.errors import (
    BeforeMoveIn,
    BeyondHistory,
    NoData,
    NotYetAvailable,
    UnknownPoint,
    UnsupportedDataset,
    UnsupportedResolution,
    UpstreamDenied,
    UpstreamError,
)
from adapters.fakes.enedis.state import NO_CONSENT, EnedisState, Refusal
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.readings import Reading
from consent.vocabulary import Dataset, Resolution

PARIS = ZoneInfo("Europe/Paris")
CURVE_HISTORY = timedelta(days=730 + 15)
DAILY_HISTORY = timedelta(days=1095 + 15)
CURVE_WINDOW = 7
_CURVES = (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE)

MakeError = Callable[[int, str, str], Refusal]

MEASURE_NOT_FOUND = ("ADAM-DC-0404", "Pas de mesure trouvée pour ce point")
BEFORE_ACTIVATION = "The requested period cannot be anterior to the meter's last activation date"


def parse_day(text: str | None, name: str, make_error: MakeError) -> date:
    try:
        if text is None or len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise make_error(400, "ADAM-DC-0001", f"Le paramètre {name} doit être une date au "
                                              "format YYYY-MM-DD.") from None


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=PARIS)


def check_window(state: EnedisState, dataset: Dataset, first: date, end: date,
                 make_error: MakeError) -> None:
    """The documented limits of one call (before any access check, as a gateway does)."""
    today = state.today()
    if not first < end:
        raise make_error(400, "ADAM-DC-0002", "La date de début doit être antérieure à la date "
                                              "de fin.")
    if end > today:
        raise make_error(400, "ADAM-DC-0003", "La date de fin doit être inférieure ou égale à "
                                              "la date du jour.")
    curve = dataset in _CURVES
    if curve and (end - first).days > CURVE_WINDOW:
        raise make_error(400, "ADAM-DC-0015", "La période demandée doit être inférieure à 7 "
                                              "jours pour un accès à la courbe de charge.")
    history = CURVE_HISTORY if curve else DAILY_HISTORY
    if first < today - history:
        raise make_error(400, "ADAM-DC-0016", "La date de début doit être postérieure à la "
                                              "date limite d'historique.")


def served(state: EnedisState, prm: str, dataset: Dataset, first: date, end: date,
           resolution: Resolution, make_error: MakeError) -> list[Reading]:
    """The simulator's readings of ``[first, end[``, or the error Enedis answers instead."""
    point = PointRef(Source.ENEDIS, prm)
    try:
        series = state.simulator.series(point, dataset, Period(midnight(first), midnight(end)),
                                        resolution)
    except UpstreamError as exc:
        raise translate(exc, make_error) from exc
    return list(series.readings)


def translate(exc: UpstreamError, make_error: MakeError) -> Refusal:
    """The Enedis answer for a simulator refusal."""
    if isinstance(exc, BeforeMoveIn | BeyondHistory):
        # Still the v5 shape in 2026 (data-connect-2026 README): {"error", "error_description"}.
        return Refusal(400, {"error": "ADAM-ERR0123", "error_description": BEFORE_ACTIVATION})
    if isinstance(exc, NoData | NotYetAvailable):
        return make_error(404, *MEASURE_NOT_FOUND)
    if isinstance(exc, UnsupportedDataset | UnsupportedResolution):
        return make_error(400, "ADAM-ERR0069", "Le sens de la mesure ne correspond pas pour le "
                                               "PRM demandé")
    if isinstance(exc, UnknownPoint):
        return make_error(404, "STM-ERR-0000019", "PRM non existant")
    if isinstance(exc, UpstreamDenied):
        return make_error(403, *NO_CONSENT)
    return make_error(500, "ADAM-DC-0500", "Problème technique dans l'interrogation du SI "
                                           "coeur")


def local_text(instant: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in Paris local time, without offset (as Data Connect writes)."""
    return instant.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")


def step_text(resolution: Resolution) -> str:
    """Data Connect writes an hour as ``PT60M``."""
    return "PT60M" if resolution is Resolution.PT1H else resolution.value


def peak_instant(state: EnedisState, prm: str, day: date) -> datetime:
    """When the day's maximum power was reached: the start of its busiest 10 minutes, plus a few
    seconds (a Linky dates the peak to the second). Noon if the curve is not recorded."""
    point = PointRef(Source.ENEDIS, prm)
    try:
        curve = state.simulator.series(point, Dataset.CONSUMPTION_LOAD_CURVE,
                                       Period(midnight(day), midnight(day + timedelta(days=1))),
                                       Resolution.PT10M).readings
    except UpstreamError:
        return midnight(day) + timedelta(hours=12)
    peak = max(curve, key=lambda r: r.value)
    return peak.start + timedelta(minutes=3, seconds=17 + day.toordinal() % 40)

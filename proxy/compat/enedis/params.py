"""Data Connect v5 query parameters, checked as Data Connect checks them (reference §1.4, §1.6).

``usage_point_id`` is 14 digits; ``start`` and ``end`` are ``YYYY-MM-DD``, ``start`` strictly
before ``end`` (``end`` excluded), ``end`` at most today (Paris); a load-curve request covers at
most 7 days, and reaches back at most 24 months + 15 days (36 months + 15 days for daily
values). ``person_id`` is accepted and ignored, as for an authenticated app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from consent.errors import InvalidPeriod
from consent.identifiers import PointRef, Source
from consent.periods import DayRange, day_from_text
from consent.vocabulary import Dataset
from proxy.compat.enedis.errors import CompatInvalidRequest

PARIS = ZoneInfo("Europe/Paris")
_PRM = re.compile(r"[0-9]{14}")

CURVES = frozenset({Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE})
CURVE_MAX_DAYS = 7
CURVE_HISTORY = timedelta(days=730 + 15)
DAILY_HISTORY = timedelta(days=1095 + 15)


def usage_point(query: Mapping[str, str]) -> PointRef:
    """The ``usage_point_id`` as an Enedis point, or a Data Connect 400."""
    value = query.get("usage_point_id")
    if not value:
        raise CompatInvalidRequest("The usage_point_id parameter is missing.")
    if not _PRM.fullmatch(value):
        raise CompatInvalidRequest("The usage_point_id parameter must contain 14 digits.")
    return PointRef(Source.ENEDIS, value)


def _day(query: Mapping[str, str], name: str) -> date:
    value = query.get(name)
    if not value:
        raise CompatInvalidRequest(f"The {name} date parameter is missing.")
    try:
        return day_from_text(value, name)
    except InvalidPeriod:
        raise CompatInvalidRequest(f"The {name} date parameter must have the format "
                                   "YYYY-MM-DD.") from None


def day_range(query: Mapping[str, str], dataset: Dataset, now: datetime) -> DayRange:
    """``[start, end[`` as Data Connect accepts it for ``dataset`` at ``now``."""
    start, end = _day(query, "start"), _day(query, "end")
    if not start < end:
        raise CompatInvalidRequest("Start date should be before end date.")
    today = now.astimezone(PARIS).date()
    if end > today:
        raise CompatInvalidRequest("The end date parameter must be earlier than the current "
                                   "date.")
    curve = dataset in CURVES
    if curve and (end - start).days > CURVE_MAX_DAYS:
        raise CompatInvalidRequest("The requested period must be less than 7 days for an access "
                                   "to the load curve", error="ADAM-DC-0015")
    if start < today - (CURVE_HISTORY if curve else DAILY_HISTORY):
        raise CompatInvalidRequest("The start date must be greater than the history deadline.",
                                   error="ADAM-DC-0016")
    return DayRange(start, end)

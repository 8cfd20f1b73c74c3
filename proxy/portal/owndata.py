"""``GET /account/data``: the household's own consumption (and production) history (R20).

Read through Passerelle itself (:class:`~proxy.data.household.HouseholdReader`: the API's data
path, cache and limiter, evidenced), as daily values over the last three years of the
household's own occupancy (R8, R12), then shown four ways:

* ``day``: one month, day by day (any of the last 24 months);
* ``week``: the last 24 months, week by week (ISO weeks);
* ``month``: the last 24 months, month by month;
* ``year``: three years: the total of each calendar year, and the running total month by
  month (the "3 years cumulative" of R20).

A period the data does not fully cover (before move-in, today) is drawn in a muted colour and
named "partial" in the table. Query: ``point`` (a point the household occupies, else 404),
``dataset`` (``daily_consumption`` or ``daily_production`` if the point produces), ``view``,
``month`` (``YYYY-MM``, for the day view).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters.errors import UpstreamError
from consent.households import occupied_points
from consent.periods import Period
from consent.vocabulary import Dataset, Direction
from proxy.keys import clock_key, database_key, household_reader_key, request_id_key
from proxy.portal.charts import Chart, Column, Segment, chart
from proxy.portal.format import Formatter
from proxy.portal.pages import Household, household_page, not_found, render_page
from proxy.web.i18n import negotiate, translate

VIEWS = ("day", "week", "month", "year")
DETAILED_MONTHS = 24


@household_page
async def data_page(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/data``."""
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        points = await occupied_points(session, household.tenant_id, household.party_id, now)
    if not points:
        return await render_page(request, "portal/data.html", {"points": [], "point": None},
                                 section="data")
    wanted = request.query.get("point")
    point = next((p for p in points if p.id == wanted), None) if wanted else points[0]
    if point is None:
        return await not_found(request)
    datasets = [Dataset.DAILY_CONSUMPTION]
    if point.has_direction(Direction.PRODUCTION):
        datasets.append(Dataset.DAILY_PRODUCTION)
    dataset = next((d for d in datasets if d.value == request.query.get("dataset")), datasets[0])
    view_name = request.query.get("view", "month")
    if view_name not in VIEWS:
        view_name = "month"
    fmt = Formatter(negotiate(request), ZoneInfo(point.timezone))
    context = {"points": points, "point": point, "datasets": datasets, "dataset": dataset,
               "view": view_name, "views": VIEWS, "chart": None, "error": None}
    reader = request.app[household_reader_key]
    try:
        readable = await reader.readable(household.party_id, point, dataset)
        daily: dict[date, Decimal] = {}
        window = _whole_days(readable.window, fmt)
        if window is not None:
            series = await reader.daily(household.party_id, point, dataset, window,
                                        request_id=request.get(request_id_key, ""),
                                        route="/account/data")
            daily = {r.start.astimezone(fmt.zone).date(): r.value for r in series.readings}
    except UpstreamError:
        context["error"] = "portal.data.unavailable"
        return await render_page(request, "portal/data.html", context, section="data",
                                 status=503)
    today = now.astimezone(fmt.zone).date()
    month = _month_arg(request.query.get("month"), today)
    context.update(build(view_name, daily, today, month, fmt, dataset))
    return await render_page(request, "portal/data.html", context, section="data")


def _whole_days(window: Period | None, fmt: Formatter) -> Period | None:
    """``window`` cut to whole local days (the first full day to the last published one)."""
    if window is None or window.end is None:
        return None
    first = window.start.astimezone(fmt.zone).date()
    start = datetime.combine(first, time(), tzinfo=fmt.zone)
    if start < window.start:
        start = datetime.combine(first + timedelta(days=1), time(), tzinfo=fmt.zone)
    last = window.end.astimezone(fmt.zone).date()
    end = datetime.combine(last, time(), tzinfo=fmt.zone)
    return Period(start, end) if start < end else None


def _month_arg(text: str | None, today: date) -> date:
    """The first day of the month asked for, within the last 24 months (else this month)."""
    this = today.replace(day=1)
    try:
        year, month = (int(x) for x in (text or "").split("-"))
        asked = date(year, month, 1)
    except ValueError:
        return this
    oldest = _add_months(this, -(DETAILED_MONTHS - 1))
    return asked if oldest <= asked <= this else this


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _days(start: date, end: date) -> Iterable[date]:
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def _column(title: str, tick: str, days: list[date], daily: dict[date, Decimal],
            fmt: Formatter, partial_word: str, css: str = "") -> Column:
    known = [daily[d] for d in days if d in daily]
    total = sum(known, Decimal(0))
    if not known:
        return Column(title, tick, (Segment(0, css, "—"),))
    partial = len(known) < len(days)
    text = fmt.kwh(total) + (f" ({partial_word})" if partial else "")
    return Column(title, tick, (Segment(float(total), "partial" if partial else css, text),))


def build(view_name: str, daily: dict[date, Decimal], today: date, month: date,
          fmt: Formatter, dataset: Dataset) -> dict[str, object]:
    """The chart(s) and figures of one view (see the module docstring)."""
    t: Callable[[str], str] = lambda key: translate(fmt.lang, key)  # noqa: E731
    partial = t("portal.data.partial")
    this_month = today.replace(day=1)
    columns: list[Column] = []
    if view_name == "day":
        nxt = _add_months(month, 1)
        for d in _days(month, min(nxt, today + timedelta(days=1))):
            columns.append(_column(fmt.day(d), str(d.day), [d], daily, fmt, partial))
        span = fmt.month(month.year, month.month)
    elif view_name == "week":
        first = _add_months(this_month, -(DETAILED_MONTHS - 1))
        monday = first - timedelta(days=first.weekday())
        while monday <= today:
            days = list(_days(monday, monday + timedelta(days=7)))
            tick = fmt.short_month(monday.year, monday.month) if monday.day <= 7 else ""
            columns.append(_column(f"{t('portal.history.week_of')} {fmt.day(monday)}", tick,
                                   days, daily, fmt, partial))
            monday += timedelta(days=7)
        span = t("portal.data.last_24_months")
    elif view_name == "month":
        for k in range(DETAILED_MONTHS - 1, -1, -1):
            first = _add_months(this_month, -k)
            columns.append(_column(fmt.month(first.year, first.month),
                                   fmt.short_month(first.year, first.month),
                                   list(_days(first, _add_months(first, 1))), daily, fmt,
                                   partial))
        span = t("portal.data.last_24_months")
    else:
        return _years(daily, today, fmt, dataset, t, partial)
    summary = _summary(columns, fmt, t, span, view_name)
    title = f"{t('portal.data.' + dataset.value)} — {span}"
    return {"chart": chart(f"data-{view_name}", title, summary, columns, fmt.kwh),
            "span": span, "month": month, "months": _month_choices(today, fmt),
            "second": None}


def _summary(columns: list[Column], fmt: Formatter, t: Callable[[str], str], span: str,
             per: str) -> str:
    """Total, average over the *complete* periods only (a partial month would drag it down),
    and the highest period."""
    span = span[:1].upper() + span[1:]  # it starts the sentence
    filled = [c for c in columns if c.total > 0]
    if not filled:
        return t("portal.data.no_values").format(span=span)
    complete = [c for c in filled if all(s.css != "partial" for s in c.segments)] or filled
    peak = max(complete, key=lambda c: c.total)
    return t("portal.data.summary").format(
        span=span, total=fmt.kwh(sum(c.total for c in filled)),
        average=fmt.kwh(sum(c.total for c in complete) / len(complete)),
        per=t(f"portal.data.per.{per}"), peak=fmt.kwh(peak.total), when=peak.title)


def _years(daily: dict[date, Decimal], today: date, fmt: Formatter, dataset: Dataset,
           t: Callable[[str], str], partial: str) -> dict[str, object]:
    """Totals per calendar year, and the running total month by month over 36 months."""
    years = [today.year - 2, today.year - 1, today.year]
    columns = [_column(str(y), str(y), list(_days(date(y, 1, 1), date(y + 1, 1, 1))), daily,
                       fmt, partial, css="alt") for y in years]
    span = t("portal.data.three_years")
    totals = chart("data-years", f"{t('portal.data.' + dataset.value)} — {span}",
                   _summary(columns, fmt, t, span, "year"), columns, fmt.kwh)
    months: list[Column] = []
    running: list[float] = []
    cumulative = Decimal(0)
    first = _add_months(today.replace(day=1), -35)
    by_month: defaultdict[date, Decimal] = defaultdict(Decimal)
    for d, v in daily.items():
        by_month[d.replace(day=1)] += v
    for k in range(36):
        start = _add_months(first, k)
        cumulative += by_month.get(start, Decimal(0))
        running.append(float(cumulative))
        months.append(Column(fmt.month(start.year, start.month),
                             fmt.short_month(start.year, start.month) if k % 3 == 0 else "",
                             (Segment(float(cumulative), "alt", fmt.kwh(cumulative)),)))
    second: Chart = chart("data-cumulative", t("portal.data.cumulative_title"),
                          t("portal.data.cumulative_summary").format(total=fmt.kwh(cumulative)),
                          months, fmt.kwh, line=running)
    return {"chart": totals, "span": span, "month": today.replace(day=1),
            "months": _month_choices(today, fmt), "second": second}


def _month_choices(today: date, fmt: Formatter) -> list[tuple[str, str]]:
    """``(YYYY-MM, label)`` of the last 24 months, newest first."""
    this = today.replace(day=1)
    return [(f"{m.year:04d}-{m.month:02d}", fmt.month(m.year, m.month))
            for m in (_add_months(this, -k) for k in range(DETAILED_MONTHS))]

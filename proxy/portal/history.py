"""``GET /account/history``: who read which dataset of which of the household's points, when,
over which data window, and with which outcome (R16, R20), with a timeline chart.

Filters (query string, so a filtered view can be bookmarked and works without script):
``recipient`` (one of the recipients seen in the household's history), ``dataset``, ``days``
(7, 30, 90 or 365). The timeline stacks, per day (per week over a year), the reads served and
the attempts refused, drawn as SVG with the same numbers in a table.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from functools import partial

from aiohttp import web

from consent.dashboard import AccessLine, HistoryFilter, access_history
from consent.vocabulary import DATASET_NAMES, Dataset
from proxy.keys import clock_key, database_key
from proxy.portal.charts import Chart, Column, Segment, chart
from proxy.portal.fields import FieldErrors
from proxy.portal.format import Formatter
from proxy.portal.pages import Household, household_page, render_page
from proxy.web.i18n import negotiate, translate, translate_count

SPANS = (7, 30, 90, 365)
DEFAULT_SPAN = 30


@household_page
async def history_page(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/history``."""
    now = request.app[clock_key].now()
    errors = FieldErrors()
    query = request.query
    days = int(query["days"]) if query.get("days") in {str(s) for s in SPANS} else DEFAULT_SPAN
    if "days" in query and query["days"] not in {str(s) for s in SPANS}:
        errors.add("days", "portal.err.filter")
    dataset = query.get("dataset") or None
    if dataset is not None and dataset not in DATASET_NAMES:
        errors.add("dataset", "portal.err.filter")
        dataset = None
    recipient = query.get("recipient") or None
    wanted = HistoryFilter(since=now - timedelta(days=days), until=now + timedelta(seconds=1),
                           recipient_id=recipient, dataset=dataset)
    async with request.app[database_key].session() as session:
        history = await access_history(session, household.tenant_id, household.party_id,
                                       wanted)
    if recipient is not None and recipient not in {r.id for r in history.recipients}:
        errors.add("recipient", "portal.err.filter")
    lang = negotiate(request)
    fmt = Formatter(lang)
    return await render_page(request, "portal/history.html", {
        "history": history, "errors": errors, "spans": SPANS, "days": days,
        "recipient": recipient, "dataset": dataset, "datasets": list(Dataset),
        "timeline": timeline(history.lines, now, days, fmt, lang),
    }, section="history")


def timeline(lines: tuple[AccessLine, ...], now: datetime, days: int, fmt: Formatter,
             lang: str) -> Chart:
    """Reads served and refused per day (per ISO week beyond 90 days), oldest first."""
    weekly = days > 90
    today = now.astimezone(fmt.zone).date()

    def key(day: date) -> date:
        return day - timedelta(days=day.weekday()) if weekly else day

    served: Counter[date] = Counter()
    denied: Counter[date] = Counter()
    for line in lines:
        day = key(line.event.at.astimezone(fmt.zone).date())
        (served if line.event.outcome == "served" else denied)[day] += 1
    first = key(today - timedelta(days=days - 1))
    buckets = []
    day = first
    while day <= today:
        buckets.append(day)
        day += timedelta(days=7 if weekly else 1)
    count = partial(translate_count, fmt.lang)
    columns = [Column(
        (translate(fmt.lang, "portal.history.week_of") + " " if weekly else "") + fmt.day(b),
        f"{b.day}/{b.month}",
        (Segment(served[b], "", count("portal.history.served_n", served[b])),
         Segment(denied[b], "denied", count("portal.history.denied_n", denied[b]))))
        for b in buckets]
    summary = count("portal.history.summary", days,
                    served=count("portal.history.served_n", sum(served.values())),
                    denied=count("portal.history.denied_n", sum(denied.values())))
    return chart("timeline", translate(fmt.lang, "portal.history.chart_title"), summary,
                 columns, lambda v: fmt.number(v), counts=True)

"""In-house DSO answers -> adapter types, checked member by member (see ``wire.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters.base import (
    Capabilities,
    DatasetAvailability,
    DatasetLimits,
    Occupancy,
    PointInfo,
    PortAction,
    PortRequest,
    PortRequestStatus,
    PortState,
    PortStatus,
    Quota,
    UpstreamAuthorisation,
)
from adapters.decode import is_meter_value
from adapters.inhouse.decode import Doc
from adapters.inhouse.wire import ABSENT
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.readings import Quality, Reading, Record
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Direction, Energy, Resolution

_DAY_LENGTHS = (timedelta(hours=23), timedelta(hours=24), timedelta(hours=25))
_QUALITIES = {q.value: q for q in Quality}


def capabilities(doc: Doc) -> Capabilities:
    datasets = []
    for item in doc["datasets"].items():
        window, history = item["max_window_days"].optional_integer(1), \
            item["history_days"].optional_integer(1)
        datasets.append(DatasetLimits(
            dataset=item["dataset"].enum(Dataset),
            energies=frozenset(e.enum(Energy) for e in item["energies"].items()),
            resolutions=tuple(r.enum(Resolution) for r in item["resolutions"].items()),
            max_window=timedelta(days=window) if window is not None else None,
            history=timedelta(days=history) if history is not None else None))
    quotas = tuple(Quota(q["requests"].integer(1), timedelta(seconds=q["per_seconds"].integer(1)),
                         q["scope"].text()) for q in doc["quotas"].items())
    return Capabilities(doc["name"].text(), frozenset(s.enum(Source) for s in
                                                     doc["sources"].items()),
                        tuple(datasets), quotas, doc["meter_port"].boolean())


def point_info(doc: Doc, point: PointRef) -> PointInfo:
    doc["point"].equals(str(point))
    datasets = tuple(DatasetAvailability(
        item["dataset"].enum(Dataset),
        tuple(r.enum(Resolution) for r in item["resolutions"].items()),
        item["available"].optional_period()) for item in doc["datasets"].items())
    return PointInfo(point, doc["energy"].enum(Energy),
                     frozenset(d.enum(Direction) for d in doc["directions"].items()),
                     doc["timezone"].zone(), datasets)


def readings(doc: Doc, point: PointRef, dataset: Dataset, resolution: Resolution,
             period: Period) -> tuple[str, list[Reading]]:
    """The timezone and readings of one series answer, checked against the request."""
    doc["point"].equals(str(point))
    doc["dataset"].equals(dataset.value)
    doc["resolution"].equals(resolution.value)
    doc["unit"].equals(dataset.spec.unit or "")
    zone = doc["timezone"].zone()
    assert period.end is not None
    # Hoisted out of the loop (a curve has hundreds of readings): the allowed lengths, and the
    # period's bounds in UTC (an instant read from the wire has a fixed offset; comparing it
    # with a UTC instant needs no time-zone lookup, with the period's own zone it needs two).
    lengths = _DAY_LENGTHS if resolution.is_calendar else (resolution.nominal,)
    earliest, latest = period.utc_bounds()
    plain = _plain_readings(doc.value.get("values"), lengths, earliest, latest)
    if plain is not None:
        return zone, plain
    # Something is off: the member-by-member walk names the first deviation.
    out: list[Reading] = []
    previous_end = earliest
    for item in doc["values"].items():
        start, end = item["start"].instant(), item["end"].instant()
        if end - start not in lengths:
            raise item["end"].fail(f"the end of a {resolution.value} interval")
        if not (latest is None or start < latest) or start < earliest:
            raise item["start"].fail("an instant inside the requested period")
        if start < previous_end:
            raise item["start"].fail("readings in order and without overlap")
        out.append(Reading(start, end, item["value"].meter_value(),
                           item["quality"].enum(Quality)))
        previous_end = end
    return zone, out


def _plain_readings(values: Any, lengths: Sequence[timedelta], earliest: datetime,
                    latest: datetime | None) -> list[Reading] | None:
    """The readings of a well-formed ``values`` array, or ``None`` at the first deviation from
    what the walk in :func:`readings` checks (the same checks, on the decoded JSON directly:
    no :class:`Doc` per member, which was a third of a daily answer's cost)."""
    if type(values) is not list:
        return None
    out: list[Reading] = []
    previous_end = earliest
    try:
        for item in values:
            text_start, text_end, value = item["start"], item["end"], item["value"]
            if type(text_start) is not str or type(text_end) is not str \
                    or not is_meter_value(value):
                return None
            start, end = datetime.fromisoformat(text_start), datetime.fromisoformat(text_end)
            if start.tzinfo is None or end.tzinfo is None or end - start not in lengths \
                    or start < previous_end or (latest is not None and not start < latest):
                return None
            out.append(Reading(start, end, Decimal(value), _QUALITIES[item["quality"]]))
            previous_end = end
    except (KeyError, TypeError, ValueError):  # not an object, a member missing, not a date
        return None
    return out


def record(doc: Doc, point: PointRef, dataset: Dataset) -> Record:
    doc["point"].equals(str(point))
    doc["dataset"].equals(dataset.value)
    fields = doc["fields"]
    if not isinstance(fields.value, dict):
        raise fields.fail("an object")
    expected = dataset.spec.fields
    for name in fields.value:
        if name not in expected:
            raise fields[name].fail("no such member")
    return Record(point, dataset, {name: fields[name].optional_text() for name in expected})


def authorisation(doc: Doc, point: PointRef) -> UpstreamAuthorisation | None:
    doc["point"].equals(str(point))
    if doc["state"].value == ABSENT:
        return None
    return UpstreamAuthorisation(point, doc["state"].enum(UpstreamState),
                                 doc["authorisation_id"].text(),
                                 doc["validity"].optional_period(),
                                 doc["upstream_state"].optional_text())


def occupancy(doc: Doc, point: PointRef) -> tuple[Occupancy, ...]:
    doc["point"].equals(str(point))
    out: list[Occupancy] = []
    for item in doc["occupancies"].items():
        period = item.period()
        if out and (out[-1].period.end is None or period.start < out[-1].period.end):
            raise item["start"].fail("occupancies in order and without overlap")
        out.append(Occupancy(item["customer"].text(), period))
    return tuple(out)


def port_status(doc: Doc, point: PointRef) -> PortStatus:
    doc["point"].equals(str(point))
    return PortStatus(point, doc["state"].enum(PortState), doc["pending_request"].optional_text())


def port_request(doc: Doc, point: PointRef) -> PortRequest:
    doc["point"].equals(str(point))
    return PortRequest(doc["request_id"].text(), point, doc["action"].enum(PortAction),
                       doc["status"].enum(PortRequestStatus), doc["requested_at"].instant(),
                       doc["completed_at"].optional_instant())

"""OAuth scopes and RFC 9396 ``authorization_details``, in dataset terms (R6, R12, R14).

**Scope vocabulary.** One scope per :class:`~consent.vocabulary.Dataset`, spelled exactly as the
dataset (``daily_consumption``, ``consumption_load_curve``...): the mapping is one-to-one and has
no other entry, so a scope string is always a set of datasets. ``docs/oauth.md`` lists them.

**Authorization details.** A recipient that needs more than "which datasets" sends one
``authorization_details`` object of type ``meter_data`` (RFC 9396 §2)::

    {"type": "meter_data",
     "points": ["enedis:22516914714270"],   # optional; absent: the household chooses
     "datasets": ["consumption_load_curve"],
     "resolution": "PT30M",                 # finest resolution asked for (optional)
     "history": "P1Y",                      # data window: how far back (optional, <= 3 years)
     "duration": "P90D",                    # how long the consent lasts (optional, <= 3 years)
     "purpose": "energy_monitoring",        # one of the recipient's declared purposes
     "view": "community",                   # optional: "individual" (default) or "community"
     "community": "<community id>"}         # R4: the community whose aggregate it feeds

The request is the union of the scope's datasets and the details' datasets. :func:`narrow`
computes what is granted: never more than the recipient registered, than the request, or than
the household approved, and never more than two points (R14: more goes through a written path).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from consent.durations import parse_one_unit
from consent.errors import DomainError, UnknownVocabulary
from consent.identifiers import PointRef
from consent.purposes import ConsentView, Purpose
from consent.vocabulary import MAX_HISTORY, Dataset, Resolution

#: The only authorization_details type Passerelle serves.
METER_DATA = "meter_data"
#: R14: a request about more than two points takes the stricter, written path.
MAX_POINTS = 2
#: Longest consent an online flow may create (Data Connect's three years).
MAX_DURATION = timedelta(days=3 * 365 + 1)  # = ConsentPolicy.max_access
#: What a request that says nothing about the data window or the duration gets at most.
DEFAULT_HISTORY = timedelta(days=365)
DEFAULT_DURATION = timedelta(days=365)
#: A request may carry at most this much authorization_details text.
MAX_DETAILS_LENGTH = 4096


class InvalidScopeRequest(UnknownVocabulary):
    """A scope token is not a dataset, or asks for a dataset the recipient did not register."""

    code = "invalid-scope"
    title = "Invalid scope"


class InvalidDetails(DomainError):
    """``authorization_details`` is malformed or asks for something that cannot be granted."""

    code = "invalid-authorization-details"
    title = "Invalid authorization details"


def scope_of(datasets: Iterable[Dataset]) -> str:
    """The scope string naming ``datasets`` (sorted, space-separated, RFC 6749 §3.3)."""
    return " ".join(sorted(d.value for d in datasets))


def parse_scope(text: str | None) -> frozenset[Dataset]:
    """The datasets a scope string names; an unknown token raises :class:`InvalidScopeRequest`."""
    if not text:
        return frozenset()
    datasets = set()
    for token in text.split(" "):
        if not token:
            continue
        try:
            datasets.add(Dataset(token))
        except ValueError:
            raise InvalidScopeRequest(
                f"Unknown scope {token[:64]!r}; scopes are dataset names: "
                f"{', '.join(d.value for d in Dataset)}.", field="scope") from None
    return frozenset(datasets)


def parse_duration(text: str, *, field: str, today: date, back: bool = False) -> timedelta:
    """Parse ``PnD``/``PnW``/``PnM``/``PnY`` counted on the calendar from ``today``
    (:mod:`consent.durations`; with ``back``, backwards: a history reaches into the past).
    A count past every cap answers a span every cap refuses."""
    days = parse_one_unit(text, today, back=back)
    if days is None:
        raise InvalidDetails(f"{field} must be an ISO 8601 duration such as P90D, P12M or P1Y.",
                             field=field)
    return timedelta(days=days)


def format_duration(delta: timedelta) -> str:
    """``P{days}D``: the normalised form reflected in responses."""
    return f"P{delta.days}D"


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """What a recipient asks for, or what is granted: datasets x points x resolution x window.

    ``points`` empty means "the household chooses" in a request; a grant always names its
    points (except a client-credentials grant, which covers no point by itself). ``resolution``
    is the finest resolution released for series datasets (``None``: the finest they offer).
    ``history`` is how far back data may be read; ``duration`` how long the consent lasts;
    ``purpose`` the declared purpose it serves (``None`` in a request: the recipient's only one).
    ``view`` and ``community``: individual, or only inside the aggregate of that community (R4).
    """

    datasets: frozenset[Dataset]
    points: tuple[PointRef, ...] = ()
    resolution: Resolution | None = None
    history: timedelta = DEFAULT_HISTORY
    duration: timedelta = DEFAULT_DURATION
    purpose: Purpose | None = None
    view: ConsentView = ConsentView.INDIVIDUAL
    community: str | None = None

    @property
    def scope(self) -> str:
        """The scope string of the datasets."""
        return scope_of(self.datasets)

    def to_details(self) -> list[dict[str, Any]]:
        """The RFC 9396 ``authorization_details`` array reflecting this request or grant."""
        detail: dict[str, Any] = {
            "type": METER_DATA,
            "points": [str(p) for p in self.points],
            "datasets": sorted(d.value for d in self.datasets),
            "history": format_duration(self.history),
            "duration": format_duration(self.duration),
        }
        if self.resolution is not None:
            detail["resolution"] = self.resolution.value
        if self.purpose is not None:
            detail["purpose"] = self.purpose.value
        if self.view is ConsentView.COMMUNITY:
            detail.update(view=self.view.value, community=self.community)
        return [detail]


def parse_request(scope: str | None, details_text: str | None, *, today: date) -> AccessRequest:
    """Combine the ``scope`` and ``authorization_details`` parameters into one request
    (durations counted from ``today``).

    Raises :class:`InvalidScopeRequest` or :class:`InvalidDetails` with a sentence naming what
    is wrong; an empty request (no dataset at all) is refused as an invalid scope.
    """
    datasets = set(parse_scope(scope))
    request = AccessRequest(datasets=frozenset())
    if details_text:
        request = parse_details(details_text, today=today)
        datasets |= request.datasets
    if not datasets:
        raise InvalidScopeRequest(
            "Ask for at least one dataset, in scope or in authorization_details.", field="scope")
    return replace(request, datasets=frozenset(datasets))


def parse_details(text: str, *, today: date) -> AccessRequest:
    """Parse the ``authorization_details`` JSON array: exactly one ``meter_data`` object."""
    if len(text) > MAX_DETAILS_LENGTH:
        raise InvalidDetails(f"authorization_details is longer than {MAX_DETAILS_LENGTH} "
                             f"characters.", field="authorization_details")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidDetails("authorization_details is not valid JSON.",
                             field="authorization_details") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise InvalidDetails("authorization_details must be an array holding one meter_data "
                             "object.", field="authorization_details")
    return _parse_meter_data(value[0], today)


_KNOWN_FIELDS = {"type", "points", "datasets", "resolution", "history", "duration", "purpose",
                 "view", "community"}


def _parse_meter_data(obj: dict[str, Any], today: date) -> AccessRequest:
    if obj.get("type") != METER_DATA:
        raise InvalidDetails(f"Unknown authorization_details type; the only type served is "
                             f"{METER_DATA!r}.", field="authorization_details.type")
    unknown = sorted(set(obj) - _KNOWN_FIELDS)
    if unknown:
        raise InvalidDetails(f"Unknown meter_data field(s): {', '.join(unknown)[:200]}.",
                             field="authorization_details")
    datasets = _strings(obj.get("datasets"), "datasets", required=True)
    points = _strings(obj.get("points"), "points", required=False)
    try:
        parsed_datasets = frozenset(Dataset.parse(d) for d in datasets)
        parsed_points = tuple(dict.fromkeys(PointRef.parse(p) for p in points))
        resolution = (Resolution.parse(obj["resolution"]) if obj.get("resolution") is not None
                      else None)
        purpose = Purpose.parse(obj["purpose"]) if obj.get("purpose") is not None else None
        view = (ConsentView.parse(obj["view"]) if obj.get("view") is not None
                else ConsentView.INDIVIDUAL)
    except (UnknownVocabulary, DomainError) as error:
        raise InvalidDetails(error.detail, field="authorization_details") from None
    except TypeError:
        raise InvalidDetails("resolution, purpose and view must be strings.",
                             field="authorization_details") from None
    community = obj.get("community")
    if (view is ConsentView.COMMUNITY) != (isinstance(community, str) and 0 < len(community) <= 36):
        raise InvalidDetails("A community consent, and only one, names the community (the id "
                             "of a community the recipient organises, R4).",
                             field="authorization_details.community")
    if len(parsed_points) > MAX_POINTS:
        raise InvalidDetails(f"At most {MAX_POINTS} points per online request (R14); more "
                             "points need a written mandate.", field="authorization_details.points")
    history = _bounded(obj.get("history"), "history", DEFAULT_HISTORY, MAX_HISTORY, today,
                       back=True)
    duration = _bounded(obj.get("duration"), "duration", DEFAULT_DURATION, MAX_DURATION, today)
    return AccessRequest(parsed_datasets, parsed_points, resolution, history, duration, purpose,
                         view, community)


def _strings(value: Any, name: str, *, required: bool) -> Sequence[str]:
    if value is None and not required:
        return ()
    if (not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            or (required and not value) or len(value) > 32):
        raise InvalidDetails(f"{name} must be a {'non-empty ' if required else ''}array of "
                             f"strings.", field=f"authorization_details.{name}")
    return value


def _bounded(value: Any, name: str, default: timedelta, cap: timedelta,
             today: date, *, back: bool = False) -> timedelta:
    if value is None:
        return default
    delta = parse_duration(value, field=f"authorization_details.{name}", today=today, back=back)
    if delta > cap:
        raise InvalidDetails(f"{name} may not exceed {format_duration(cap)}.",
                             field=f"authorization_details.{name}")
    return delta


def check_registered(request: AccessRequest, registered: Iterable[Dataset],
                     purposes: Sequence[Purpose]) -> AccessRequest:
    """Refuse a dataset or purpose the recipient did not register (R5, R21); return the
    request with its purpose settled (the recipient's only purpose when it named none)."""
    beyond = request.datasets - frozenset(registered)
    if beyond:
        raise InvalidScopeRequest(
            f"The recipient is not registered for: {scope_of(beyond)}.", field="scope")
    if request.purpose is None:
        if len(purposes) != 1:
            raise InvalidDetails("This recipient declared several purposes: name one in "
                                 "authorization_details (purpose).", field="purpose")
        return replace(request, purpose=purposes[0])
    if request.purpose not in purposes:
        raise InvalidDetails(f"The recipient did not declare the purpose "
                             f"{request.purpose.value}.", field="purpose")
    return request


def narrow(request: AccessRequest, *, household_points: Sequence[PointRef],
           approved: AccessRequest) -> AccessRequest:
    """What is granted: the household's choice, clipped to the request and its own points.

    ``approved`` is what the household ticked on the consent page; anything in it beyond the
    request (a dataset, a point, a finer resolution, a longer window or duration) is dropped,
    never granted; the view (individual or community, R4) is the request's. Raises
    :class:`InvalidDetails` if nothing is left to grant.
    """
    allowed_points = [p for p in household_points
                      if not request.points or p in request.points]
    points = tuple(p for p in dict.fromkeys(approved.points) if p in allowed_points)
    datasets = approved.datasets & request.datasets
    if not points or not datasets:
        raise InvalidDetails("Choose at least one point and one dataset to approve.",
                             field="decision")
    if len(points) > MAX_POINTS:
        raise InvalidDetails(f"At most {MAX_POINTS} points can be shared online (R14).",
                             field="point", rule="R14")
    resolution = request.resolution
    if approved.resolution is not None and (
            resolution is None or not approved.resolution.finer_than(resolution)):
        resolution = approved.resolution
    return AccessRequest(
        datasets=datasets,
        points=points,
        resolution=resolution,
        history=min(approved.history, request.history),
        duration=min(approved.duration, request.duration),
        purpose=request.purpose,
        view=request.view,
        community=request.community,
    )


def finest_resolution(datasets: Iterable[Dataset]) -> Resolution:
    """The finest native resolution among ``datasets`` (``P1D`` when none is a curve)."""
    finest = Resolution.P1D
    for dataset in datasets:
        native = dataset.spec.finest
        if native is not None and native.finer_than(finest):
            finest = native
    return finest


def resolution_choices(request: AccessRequest) -> list[Resolution]:
    """Resolutions a household may pick, finest first: from what was asked down to daily."""
    ceiling = request.resolution or finest_resolution(request.datasets)
    if not ceiling.finer_than(Resolution.P1D):
        return [Resolution.P1D]
    return [r for r in Resolution if not r.finer_than(ceiling)
            and not Resolution.P1D.finer_than(r)]

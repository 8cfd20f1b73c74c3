"""The household's home page (R20) and giving a recipient access from it.

``GET /account``: the points the household occupies and, per point, who may read what, why
(purpose, legal basis), at which resolution, how far back, since and until when, and when each
recipient last read it; pending requests to answer; ended consents; a link to the public
register of recipients (R21).

``GET/POST /account/consents/new``: grant a registered recipient access without going through
its app (it then reads with its app-wide token, as Data Connect v5 recipients do). The form
offers only what the recipient registered (R5) and at most two points (R14: more needs the
written path); the default resolution is a day, the coarsest (data minimisation).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from consent.dashboard import overview
from consent.errors import DomainError
from consent.households import occupied_points
from consent.models import MeteringPoint, Recipient, RecipientState
from consent.purposes import Purpose
from consent.services.consent_rules import ConsentDraft
from consent.vocabulary import MAX_HISTORY, Dataset, Resolution
from proxy.keys import clock_key, consent_service_key, database_key
from proxy.portal import fields
from proxy.portal.consents import resolution_choices
from proxy.portal.fields import FieldErrors
from proxy.portal.pages import Household, confirm, household_page, recorded, render_page
from proxy.portal.recording import notice
from proxy.web import csrf
from proxy.web.forms import first
from proxy.web.i18n import dataset_title, negotiate, translate

#: R14: more than two points in one request goes through the written path.
MAX_POINTS = 2
DEFAULT_DAYS = 365


async def home(request: web.Request) -> web.StreamResponse:
    """``GET /``: the household page (the login page first if needed)."""
    raise web.HTTPSeeOther("/account")


@household_page
async def overview_page(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account``."""
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        view = await overview(session, household.tenant_id, household.party_id, now)
    return await render_page(request, "portal/overview.html", {"overview": view, "now": now},
                             section="overview")


async def _offer(request: web.Request, household: Household,
                 ) -> tuple[list[Recipient], list[MeteringPoint]]:
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        recipients = list((await session.exec(select(Recipient).where(
            Recipient.tenant_id == household.tenant_id,
            Recipient.state == RecipientState.ACTIVE).order_by(col(Recipient.name)))).all())
        points = await occupied_points(session, household.tenant_id, household.party_id, now)
    return recipients, points


def _offered_datasets(recipient: Recipient, points: list[MeteringPoint]) -> list[Dataset]:
    """The recipient's registered datasets that exist on at least one of the points."""
    def exists(dataset: Dataset) -> bool:
        spec = dataset.spec
        return any(p.energy in spec.energies
                   and (spec.direction is None or p.has_direction(spec.direction))
                   for p in points)

    return [d for d in recipient.may_receive() if exists(d)]


async def _form(request: web.Request, household: Household, *, recipient_id: str,
                errors: FieldErrors | None = None, values: dict[str, Any] | None = None,
                status: int = 200) -> web.Response:
    recipients, points = await _offer(request, household)
    chosen = next((r for r in recipients if r.id == recipient_id), None)
    now = request.app[clock_key].now()
    return await render_page(request, "portal/grant.html", {
        "recipients": recipients, "recipient": chosen, "points": points,
        "datasets": _offered_datasets(chosen, points) if chosen else [],
        "resolutions": resolution_choices(Resolution.PT10M),
        "errors": errors or FieldErrors(), "max_history": MAX_HISTORY.days,
        "values": values or {"history_days": DEFAULT_DAYS, "resolution": Resolution.P1D.value,
                             "until": (now + timedelta(days=DEFAULT_DAYS)).date().isoformat()},
        "max_points": MAX_POINTS,
    }, section="overview", status=status)


@household_page
async def grant_form(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/consents/new[?recipient=ID]``."""
    return await _form(request, household, recipient_id=request.query.get("recipient", ""))


@household_page
async def grant_submit(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/consents/new``: validate every field, then give the consent."""
    pairs = await csrf.read_verified_form(request)
    recipients, points = await _offer(request, household)
    errors = FieldErrors()
    recipient = next((r for r in recipients if r.id == first(pairs, "recipient")), None)
    if recipient is None:
        errors.add("recipient", "portal.err.recipient")
        return await _form(request, household, recipient_id="", errors=errors, status=400)
    chosen_points = fields.points(pairs, "points", [p.ref for p in points], errors)
    if len(chosen_points) > MAX_POINTS:
        errors.add("points", "portal.err.points.r14")
    datasets = fields.datasets(pairs, "datasets", _offered_datasets(recipient, points), errors)
    purpose_text = first(pairs, "purpose")
    if purpose_text not in recipient.purposes:
        errors.add("purpose", "portal.err.purpose")
    resolution = fields.resolution(pairs, "resolution", resolution_choices(Resolution.PT10M),
                                   errors) or Resolution.P1D
    history = fields.whole(pairs, "history_days", errors, low=1, high=MAX_HISTORY.days)
    until = fields.day(pairs, "until", errors)
    values: dict[str, Any] = {k: first(pairs, k)
                              for k in ("history_days", "resolution", "until", "purpose")}
    values["points"] = [str(p) for p in chosen_points]
    values["datasets"] = [d.value for d in datasets]
    if not errors and until is not None:
        draft = ConsentDraft(
            grantor_id=household.party_id, recipient_id=recipient.id, points=chosen_points,
            datasets=datasets, purpose=Purpose(purpose_text),
            valid_until=fields.end_of_day(until), max_resolution=resolution,
            history_days=history)
        lang = negotiate(request)
        shown = notice(lang, {
            "recipient": recipient.name, "purpose": translate(lang, f"purpose.{purpose_text}"),
            "datasets": [dataset_title(lang, d.value) for d in datasets],
            "points": [str(p) for p in chosen_points], "resolution": resolution.value,
            "history_days": history, "until": until.isoformat()})
        try:
            async with recorded(request, household, shown) as actor:
                given = await request.app[consent_service_key].give(
                    actor, draft, reason="given on the household page")
        except DomainError as error:
            errors.from_domain(error)
        else:
            return await confirm(request, f"/account/consents/{given.row.id}",
                                 "portal.done.granted", recipient=recipient.name)
    return await _form(request, household, recipient_id=recipient.id, errors=errors,
                       values=values, status=400)

"""The household's decisions on its consents (R6, R8, R20): see one, grant or refuse a pending
request, narrow, renew, withdraw, withdraw everything a recipient holds.

Each decision goes through the domain services (:class:`~consent.services.ConsentService`,
:class:`~consent.services.decisions.HouseholdDecisions`), which write the event history in the
same transaction and run the hooks: ending a consent revokes its OAuth tokens at once, so the
recipient's next request is refused. The browser is then sent back with a one-shot
confirmation. A consent of another household answers the same 404 as an unknown id.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from consent.dashboard import ConsentLine, household_consent
from consent.errors import ConcurrentUpdate, DomainError, IllegalTransition
from consent.lifecycle import CONSENT_MACHINE, ActorRole, ConsentAction, ConsentState
from consent.services.decisions import HouseholdDecisions, Narrowing
from consent.vocabulary import Dataset, Resolution
from proxy.keys import clock_key, consent_service_key, database_key
from proxy.portal import fields
from proxy.portal.fields import FieldErrors
from proxy.portal.format import Formatter
from proxy.portal.pages import (
    Household,
    confirm,
    household_page,
    not_found,
    recorded,
    render_page,
)
from proxy.portal.recording import notice
from proxy.web import csrf
from proxy.web.forms import first
from proxy.web.i18n import dataset_title, negotiate, translate
from proxy.web.lang import Lang

#: Resolutions a household may choose between when narrowing (finest first).
_CHOICES = (Resolution.PT10M, Resolution.PT15M, Resolution.PT30M, Resolution.PT1H,
            Resolution.P1D)


#: The error key of the renewal form's end (its field is named ``until``, like the narrowing's).
RENEW_UNTIL = "renew-until"


def resolution_choices(current: Resolution) -> list[Resolution]:
    """``current`` and every coarser choice up to a day."""
    return [r for r in _CHOICES if not r.finer_than(current)]


async def _line(request: web.Request, household: Household) -> ConsentLine:
    async with request.app[database_key].session() as session:
        return await household_consent(session, household.tenant_id, household.party_id,
                                       request.match_info["consent_id"])


async def _show(request: web.Request, household: Household, line: ConsentLine, *,
                errors: FieldErrors | None = None, values: dict[str, Any] | None = None,
                status: int = 200) -> web.Response:
    service = request.app[consent_service_key]
    history = await service.history(household.tenant_id, line.consent.id)
    state = ConsentState(line.consent.state)
    actions = {a.value for a in CONSENT_MACHINE.allowed_actions(state, ActorRole.SUBJECT)}
    if state is ConsentState.ACTIVE:
        actions.add("narrow")
    return await render_page(request, "portal/consent.html", {
        "line": line, "history": history, "actions": actions,
        "datasets": [Dataset(d) for d in line.consent.datasets],
        "resolutions": resolution_choices(line.consent.max_resolution),
        "errors": errors or FieldErrors(), "values": values or {},
        "now": request.app[clock_key].now(),
    }, section="overview", status=status, here=_url(line.consent.id))


@household_page
async def consent_page(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/consents/{consent_id}``."""
    return await _show(request, household, await _line(request, household))


@household_page
async def decide(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/consents/{consent_id}/{action}``: grant, refuse, renew, withdraw,
    narrow."""
    line = await _line(request, household)  # 404 before anything is read or checked
    pairs = await csrf.read_verified_form(request)
    action = request.match_info["action"]
    expected = fields.version(pairs)
    service = request.app[consent_service_key]
    consent = line.consent
    errors = FieldErrors()
    values = {"until": first(pairs, "until")}
    lang = negotiate(request)
    try:
        if action == ConsentAction.WITHDRAW:
            async with recorded(request, household) as actor:
                await service.withdraw(actor, consent.id, expected_version=expected,
                                       reason="withdrawn on the household page")
            return await confirm(request, "/account", "portal.done.withdrawn",
                                 recipient=line.recipient.name)
        if action == ConsentAction.GRANT:
            async with recorded(request, household, notice(lang, terms(lang, line))) as actor:
                await service.grant(actor, consent.id, expected_version=expected)
            return await confirm(request, _url(consent.id), "portal.done.granted",
                                 recipient=line.recipient.name)
        if action == ConsentAction.REFUSE:
            async with recorded(request, household) as actor:
                await service.refuse(actor, consent.id, expected_version=expected)
            return await confirm(request, "/account", "portal.done.refused",
                                 recipient=line.recipient.name)
        if action == ConsentAction.RENEW:
            until = fields.day(pairs, "until", errors)
            if until is not None:
                shown = notice(lang, {**terms(lang, line), "until": until.isoformat()})
                async with recorded(request, household, shown) as actor:
                    await service.renew(actor, consent.id, fields.end_of_day(until),
                                        expected_version=expected)
                return await confirm(request, _url(consent.id), "portal.done.renewed",
                                     recipient=line.recipient.name)
        elif action == "narrow":
            wanted = _narrowing(pairs, line, errors)
            if not errors:
                shown = notice(lang, {**terms(lang, line), "narrowed_to": _describe(wanted)})
                async with recorded(request, household, shown) as actor:
                    granted = await HouseholdDecisions(service).narrow(
                        actor, consent.id, wanted, expected_version=expected)
                return await confirm(request, _url(granted.row.id), "portal.done.narrowed",
                                     recipient=line.recipient.name)
        else:
            raise web.HTTPNotFound
    except ConcurrentUpdate:
        errors.add("form", "portal.err.concurrent")
    except IllegalTransition:
        errors.add("form", "portal.err.illegal")
    except DomainError as error:
        errors.from_domain(error)
    if action == ConsentAction.RENEW and "until" in errors:
        # Both forms of the page have a field named "until": the renewal's error is shown
        # (and its id given) under its own name, so the narrowing form stays untouched.
        errors[RENEW_UNTIL] = errors.pop("until")
    return await _show(request, household, await _line(request, household), errors=errors,
                       values=values, status=409 if "form" in errors else 400)


def terms(lang: Lang, line: ConsentLine) -> dict[str, Any]:
    """The terms of a consent as its page writes them (hashed into the evidence notice)."""
    c = line.consent
    return {
        "recipient": line.recipient.name,
        "purpose": translate(lang, f"purpose.{c.purpose}"),
        "legal_basis": translate(lang, f"basis.{c.legal_basis}"),
        "datasets": [dataset_title(lang, d) for d in c.datasets],
        "points": [str(p) for p in line.points],
        "resolution": translate(lang, f"portal.resolution.{c.max_resolution}"),
        "history_days": c.history_days, "valid_until": c.valid_until.isoformat(),
    }


def _describe(wanted: Narrowing) -> dict[str, Any]:
    return {"points": [str(p) for p in wanted.points or []],
            "datasets": [d.value for d in wanted.datasets or []],
            "resolution": wanted.max_resolution.value if wanted.max_resolution else None,
            "history_days": wanted.history_days,
            "valid_until": wanted.valid_until.isoformat() if wanted.valid_until else None}


def _narrowing(pairs: list[tuple[str, str]], line: ConsentLine,
               errors: FieldErrors) -> Narrowing:
    points = fields.points(pairs, "points", line.points, errors)
    datasets = fields.datasets(pairs, "datasets", [Dataset(d) for d in line.consent.datasets],
                               errors)
    resolution = fields.resolution(pairs, "resolution",
                                   resolution_choices(line.consent.max_resolution), errors)
    history = fields.whole(pairs, "history_days", errors, low=1,
                           high=line.consent.history_days)
    until = fields.day(pairs, "until", errors)
    end = fields.end_of_day(until) if until is not None else None
    shown = Formatter("en").last_day(line.consent.valid_until)
    if until is not None and until.isoformat() == shown:
        end = None  # the day shown by default: the end stays exactly as it is
    return Narrowing(points=points, datasets=datasets, max_resolution=resolution,
                     history_days=history, valid_until=end)


@household_page
async def withdraw_recipient(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/recipients/{recipient_id}/withdraw``: everything that recipient holds,
    in one transaction. A recipient holding nothing of this household is a 404."""
    await csrf.read_verified_form(request)
    service = request.app[consent_service_key]
    async with recorded(request, household) as actor:
        done = await HouseholdDecisions(service).withdraw_all(
            actor, household.party_id, request.match_info["recipient_id"],
            reason="withdrawn for the whole recipient on the household page")
    if not done:
        return await not_found(request)
    async with request.app[database_key].session() as session:
        line = await household_consent(session, household.tenant_id, household.party_id,
                                       done[0].row.id)
    return await confirm(request, "/account", "portal.done.withdrawn_all",
                         recipient=line.recipient.name, count=str(len(done)))


def _url(consent_id: str) -> str:
    return f"/account/consents/{consent_id}"

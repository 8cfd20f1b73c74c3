"""The household's answer to an authorization request: ``POST /oauth2/authorize`` (RFC 6749
§4.1.2).

The form is CSRF-checked and must carry the consent text the page showed (version, language,
SHA-256): a form posted after the text changed is shown again (409) rather than recorded
against a text the household did not see (R15, R18). Approving creates an active consent
through :class:`~consent.services.ConsentService`, with how the household signed in, and a code
bound to it; refusing records a consent ``requested -> refused``. Both answer ``303`` to the
client, once per request: the answer, the consent and the code are one transaction, and a
second submit of the same request gets ``access_denied`` (:mod:`proxy.oauth.answer_once`). A
mandatary deciding beyond its mandate is refused and journaled (R10).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from aiohttp import web

from consent.errors import AlreadyAnswered, DomainError
from consent.evidence.records import Notice
from consent.identifiers import PointRef
from consent.journal import DENIED, JournalEntry
from consent.lifecycle import ActorRole, ConsentAction
from consent.models import Channel
from consent.numbers import whole_number
from consent.scopes import AccessRequest, InvalidDetails, finest_resolution, narrow
from consent.services import Actor
from consent.services.consent_rules import ConsentDraft
from consent.vocabulary import Dataset, Resolution
from proxy.keys import (
    consent_service_key,
    database_key,
    decision_recorder_key,
    rules_key,
)
from proxy.oauth.answer_once import already_answered, answering
from proxy.oauth.consent_page import Pending, consent_page, offered
from proxy.oauth.exchange import Grantee
from proxy.oauth.glue import Carrier, bound
from proxy.oauth.store import apply_in
from proxy.web import csrf
from proxy.web.consent_text import consent_notice
from proxy.web.forms import every, first
from proxy.web.lang import LANGS
from proxy.web.pages import error_page
from proxy.web.session import browser_session

log = logging.getLogger("passerelle.oauth")


async def decide(request: web.Request, pending: Pending) -> web.StreamResponse:
    """Record the household's decision and send the browser back to the client."""
    try:
        pairs = await csrf.read_verified_form(request)
    except csrf.FORM_REJECTED:
        return await error_page(request, "error.csrf", status=403)
    decision = first(pairs, "decision")
    notice = _shown_notice(first(pairs, "notice"))
    if notice is None:  # the text changed since the page was shown (or the form is forged)
        return await consent_page(request, pending, error="consent.text_changed", status=409)
    role = ActorRole.MANDATARY if pending.households else ActorRole.SUBJECT
    authentication = await request.app[decision_recorder_key].authentication(
        (await browser_session(request)).cookie, pending.account)
    actor = Actor(role, party_id=pending.account.party_id,
                  account_id=pending.account.id, channel=Channel.WEB,
                  tenant_id=pending.account.tenant_id, authentication=authentication,
                  notice=notice)
    if decision == "refuse":
        try:
            await _refuse(request, pending, actor, notice)
        except AlreadyAnswered:
            return already_answered(pending)
        return _respond(pending, None)
    if decision != "approve":
        return await consent_page(request, pending, error="consent.nothing", status=400)
    try:
        approved = _choices(pairs, pending.access)
        grantor, household_points = pending.grantor(pairs, approved.points)
        granted = narrow(pending.access, household_points=household_points, approved=approved)
        return await _approve(request, pending, actor, _draft(pending, granted, notice, grantor),
                              granted)
    except InvalidDetails as error:
        return await consent_page(request, pending, error=_detail_key(error), status=400,
                                  answered=pairs)
    except AlreadyAnswered:
        return already_answered(pending)
    except DomainError as error:
        log.info("consent refused by the domain: %s", error.detail)
        if role is ActorRole.MANDATARY:
            await _journal_refusal(request, pending, error)
        return await consent_page(request, pending, error=_refusal_key(error), status=400)


async def _approve(request: web.Request, pending: Pending, actor: Actor, draft: ConsentDraft,
                   granted: AccessRequest) -> web.Response:
    """The answer, the active consent and the code bound to it: one transaction, so that a
    second submit of the form finds them all or none (:mod:`proxy.oauth.answer_once`)."""
    async with answering(request.app[database_key], pending, approved=True) as (session, answer):
        consent = (await request.app[consent_service_key].answer_in(
            session, actor, draft, ConsentAction.GRANT)).row
        answer.consent_id = consent.id
        session.add(answer)
        granted = replace(granted, resolution=_max_resolution(granted))
        pending.exchange.grantee = Grantee(pending.account.id, consent.id, granted,
                                           consent.valid_until)
        response = _respond(pending, pending.exchange.grantee)
        await apply_in(session, pending.exchange)
    return response


def _respond(pending: Pending, grantee: Grantee | None) -> web.Response:
    with bound(pending.exchange):
        carrier: Carrier = pending.server.create_authorization_response(
            pending.snapshot, grant_user=grantee, grant=pending.grant)
    return carrier.to_response()


def _choices(pairs: list[tuple[str, str]], access: AccessRequest) -> AccessRequest:
    """What the household ticked, as an AccessRequest (checked against the request later)."""
    try:
        resolution = first(pairs, "resolution")
        return AccessRequest(
            datasets=frozenset(Dataset.parse(d) for d in every(pairs, "dataset")),
            points=tuple(PointRef.parse(p) for p in every(pairs, "point")),
            resolution=Resolution.parse(resolution) if resolution else None,
            history=timedelta(days=_days(first(pairs, "history_days"))),
            duration=timedelta(days=_days(first(pairs, "duration_days"))),
            purpose=access.purpose,
        )
    except DomainError as error:
        raise InvalidDetails(error.detail) from None


def _days(text: str) -> int:
    days = whole_number(text)
    if days is None or not 1 <= days <= 10_000:
        raise InvalidDetails("Durations are whole numbers of days.", field="days")
    return days


def _max_resolution(granted: AccessRequest) -> Resolution:
    """What the household allowed, never finer than the datasets' finest native resolution."""
    finest = finest_resolution(granted.datasets)
    resolution = granted.resolution or finest
    return finest if resolution.finer_than(finest) else resolution


def _shown_notice(posted: str) -> Notice | None:
    """The consent text the form says was shown (``version language sha256``), if it is the
    current text of that language; ``None`` otherwise."""
    version, _, rest = posted.partition(" ")
    language, _, sha256 = rest.partition(" ")
    if language not in LANGS:
        return None
    current = consent_notice(language)
    return current if (version, sha256) == (current.version, current.sha256) else None




#: What the household is told when the domain refuses the grant, by the error's reason or rule
#: (R14 counts the points the app already holds: then the message says so).
_REFUSAL_KEYS = {"R10": "consent.mandate_scope", "R14": "consent.written_path",
                 "r14_consent_held": "consent.written_path_held"}

#: What the household is told when its choice cannot be granted, by the error's rule or field
#: (consent.scopes.narrow, Pending.grantor); anything else means nothing was chosen.
_DETAIL_KEYS = {"R14": "consent.too_many_points", "other_household": "consent.other_household",
                "household": "consent.household"}


def _refusal_key(error: DomainError) -> str:
    for said in (error.extra.get("reason"), error.extra.get("rule")):
        if said is not None and str(said) in _REFUSAL_KEYS:
            return _REFUSAL_KEYS[str(said)]
    return "consent.not_possible"


def _detail_key(error: InvalidDetails) -> str:
    for said in (error.extra.get("rule"), error.extra.get("field")):
        if said is not None and str(said) in _DETAIL_KEYS:
            return _DETAIL_KEYS[str(said)]
    return "consent.nothing"


async def _journal_refusal(request: web.Request, pending: Pending, error: DomainError) -> None:
    """A mandatary refused beyond its mandate leaves a journal line (the household's own
    refusals are consents ``refused``)."""
    account = pending.account
    await request.app[rules_key].journal.record(JournalEntry(
        tenant_id=account.tenant_id, at=pending.exchange.now, action="mandatary.give_consent",
        outcome=DENIED, account_id=account.id, party_id=account.party_id,
        roles=tuple(account.roles), target=pending.client.recipient.id, detail=error.detail,
        details={"rule": str(error.extra.get("rule", "")), "code": error.code}))


def _draft(pending: Pending, granted: AccessRequest, notice: Notice,
           grantor: str | None = None) -> ConsentDraft:
    assert granted.purpose is not None  # settled by AccessRequestCheck
    return ConsentDraft(
        grantor_id=grantor or pending.account.party_id,
        recipient_id=pending.client.recipient.id,
        points=granted.points,
        datasets=sorted(granted.datasets),
        purpose=granted.purpose,
        # Both ends from one instant: the duration granted is the one asked for, to the
        # microsecond (the service's own "now" comes later and would shorten it).
        valid_from=pending.exchange.now,
        valid_until=pending.exchange.now + granted.duration,
        max_resolution=_max_resolution(granted),
        history_days=granted.history.days,
        text_version=notice.version,
        text_hash=notice.sha256,
        view=granted.view,
        community_id=granted.community,
    )


async def _refuse(request: web.Request, pending: Pending, actor: Actor,
                  notice: Notice) -> None:
    """Record the answer and, with it, the household's refusal as a consent ``requested ->
    refused`` (what was asked, on its points). A mandatary's refusal, or one the domain cannot
    record (nothing it asked exists here), is the answer alone: the client still gets
    ``access_denied``. Raises :class:`AlreadyAnswered` for a second answer."""
    db = request.app[database_key]
    points, _foreign, datasets = offered(pending)
    if pending.households or not points or not datasets:
        log.info("refusal recorded as an answer only, by account %s", pending.account.id)
        async with answering(db, pending, approved=False):
            return
    asked = AccessRequest(frozenset(datasets), tuple(p.ref for p in points[:2]),
                          pending.access.resolution, pending.access.history,
                          pending.access.duration, pending.access.purpose,
                          pending.access.view, pending.access.community)
    try:
        async with answering(db, pending, approved=False) as (session, answer):
            answer.consent_id = (await request.app[consent_service_key].answer_in(
                session, actor, _draft(pending, asked, notice), ConsentAction.REFUSE)).row.id
            session.add(answer)
    except AlreadyAnswered:
        raise
    except DomainError as error:  # rolled back: the answer alone, in a transaction of its own
        log.info("refusal not recorded: %s", error.detail)
        async with answering(db, pending, approved=False):
            return

"""The authorization endpoint: validate, sign in, ask the household, answer (RFC 6749 §4.1).

``GET /oauth2/authorize?...`` validates the request with authlib before anything else. An
error that can be sent back (the client exists and the redirect URI is one it registered,
exactly) is redirected with ``error``, ``state`` and ``iss`` (RFC 9207); any other error is an
HTML page, never a redirect (RFC 9700 §4.11.2). A valid request from a browser that is not
signed in goes to the login page and comes back. Then the consent page says who asks, why,
which datasets of which of the household's points, at which resolution, how far back and for
how long, and lets the household narrow each of these.

``POST /oauth2/authorize?<the same query>`` carries the decision (CSRF-checked). Approving
creates an active consent through :class:`~consent.services.ConsentService` and issues a code
bound to it; refusing records a refused consent. Both answer ``303`` to the client.

The page prints the version and SHA-256 of its consent text (:mod:`proxy.web.consent_text`) and
the form posts them back: the decision is recorded with that text and with how the household
signed in (password, and when), so the signed record says what was shown and who acted (R15,
R18). A form posted after the text changed is shown again (409) rather than recorded against a
text the household did not see.

A mandatary (an account with the ``mandatary`` role: a relative, a CPAS social worker) may
decide for a household whose consents its mandate lets it manage (R10, R11): the page offers
those households and only the points their mandates cover; the consent is the household's,
recorded as given by the mandatary under the mandate. Beyond the mandate's scope it is refused
and journaled. An account of another tenant than the app's is refused (R24).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import web
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.base import OAuth2Error

from consent.errors import DomainError
from consent.evidence.records import Notice
from consent.households import mandated_households, occupied_points
from consent.identifiers import PointRef
from consent.journal import DENIED, JournalEntry
from consent.lifecycle import ActorRole
from consent.models import Account, AccountRole, Channel, MeteringPoint, Party
from consent.scopes import (
    AccessRequest,
    InvalidDetails,
    finest_resolution,
    narrow,
    resolution_choices,
)
from consent.services import Actor
from consent.services.consent_rules import ConsentDraft
from consent.vocabulary import Dataset, Resolution
from proxy.errors import InvalidRequest, OAuthError
from proxy.keys import (
    consent_service_key,
    database_key,
    decision_recorder_key,
    oauth_server_key,
    rules_key,
)
from proxy.oauth.endpoints import new_exchange
from proxy.oauth.exchange import Exchange, Grantee, OAuthClient
from proxy.oauth.glue import Carrier, Snapshot, bound, read_snapshot
from proxy.oauth.server import PasserelleServer, translate
from proxy.oauth.store import apply, load_client
from proxy.web import csrf
from proxy.web.consent_text import consent_notice
from proxy.web.forms import every, first
from proxy.web.i18n import negotiate
from proxy.web.lang import LANGS
from proxy.web.login import login_url
from proxy.web.pages import error_page, see_other
from proxy.web.session import browser_session
from proxy.web.templates import render

log = logging.getLogger("passerelle.oauth")


@dataclass(frozen=True, slots=True)
class Pending:
    """A validated authorization request and the signed-in household it is shown to."""

    server: PasserelleServer
    snapshot: Snapshot
    grant: object
    exchange: Exchange
    client: OAuthClient
    access: AccessRequest
    account: Account
    points: tuple[MeteringPoint, ...]
    #: For a mandatary: the households it acts for, each with the points it may share.
    households: tuple[tuple[Party, tuple[MeteringPoint, ...]], ...] = ()

    @property
    def refs(self) -> list[PointRef]:
        return [p.ref for p in self.points]

    def grantor(self, pairs: list[tuple[str, str]]) -> tuple[str, list[PointRef]]:
        """The household deciding and the points it may share: the account's own, or (for a
        mandatary) the household chosen on the form, among those it acts for."""
        if not self.households:
            return self.account.party_id, self.refs
        chosen = first(pairs, "household") or self.households[0][0].id
        for household, points in self.households:
            if household.id == chosen:
                return household.id, [p.ref for p in points]
        raise InvalidDetails("Choose one of the households you act for.", field="household")


async def authorize(request: web.Request) -> web.StreamResponse:
    """``GET`` shows the consent page; ``POST`` records the decision."""
    server = request.app[oauth_server_key]
    try:
        snapshot = await read_snapshot(request, server.issuer, use_query=True, use_form=False)
    except OAuthError as error:
        return await _error_page(request, error)
    exchange = new_exchange(request)
    async with request.app[database_key].session() as session:
        await load_client(session, exchange, snapshot.payload.client_id)
    try:
        with bound(exchange):
            grant = server.get_consent_grant(snapshot, end_user=None)
    except OAuth2Error as error:
        return await _authorization_error(request, server, snapshot, error)
    except ValueError:  # authlib refuses to echo characters RFC 6749 forbids in errors
        return await _error_page(request, InvalidRequest("A parameter holds characters that "
                                                         "are not allowed."))
    state = await browser_session(request)
    if state.account is None:
        if request.method == "POST":
            return await error_page(request, "error.csrf", status=403)
        return see_other(login_url(request.path_qs, snapshot.client.recipient.tenant_id))
    account = state.account
    if account.tenant_id != snapshot.client.recipient.tenant_id:
        return await error_page(request, "consent.other_tenant", status=403)
    households: tuple[tuple[Party, tuple[MeteringPoint, ...]], ...] = ()
    async with request.app[database_key].session() as session:
        if account.has_role(AccountRole.HOUSEHOLD):
            points = await occupied_points(session, account.tenant_id, account.party_id,
                                           exchange.now)
        elif account.has_role(AccountRole.MANDATARY):
            households = tuple((h, tuple(p)) for h, p in await mandated_households(
                session, account.tenant_id, account.party_id, exchange.now))
            points = [p for _, mine in households for p in mine]
        else:
            return await error_page(request, "consent.not_household", status=403)
    assert snapshot.access is not None  # set by AccessRequestCheck during validation
    pending = Pending(server, snapshot, grant, exchange, snapshot.client,
                      snapshot.access, account, tuple(points), households)
    if request.method == "GET":
        return await consent_page(request, pending)
    return await decide(request, pending)


async def _authorization_error(request: web.Request, server: PasserelleServer,
                               snapshot: Snapshot, error: OAuth2Error) -> web.StreamResponse:
    if not error.redirect_uri:
        return await _error_page(request, translate(error))
    error.state = snapshot.payload.state
    carrier = Carrier(*error())
    carrier.location = add_params_to_uri(carrier.location or "", [("iss", server.issuer)])
    return carrier.to_response()


async def _error_page(request: web.Request, error: OAuthError) -> web.Response:
    return await error_page(request, "error.intro", status=400, code=error.code,
                            detail=error.detail)


def _offered(pending: Pending) -> tuple[list[MeteringPoint], list[str], list[Dataset]]:
    requested = pending.access.points
    points = [p for p in pending.points if not requested or p.ref in requested]
    foreign = [str(ref) for ref in requested if ref not in pending.refs]
    datasets = [d for d in sorted(pending.access.datasets)
                if any(_point_has(p, d) for p in points)]
    return points, foreign, datasets


def _point_has(point: MeteringPoint, dataset: Dataset) -> bool:
    spec = dataset.spec
    return point.energy in spec.energies and (spec.direction is None
                                              or point.has_direction(spec.direction))


async def consent_page(request: web.Request, pending: Pending, *, error: str | None = None,
                       status: int = 200) -> web.Response:
    """The consent form (see the module docstring)."""
    points, foreign, datasets = _offered(pending)
    redirect_uri = pending.snapshot.payload.redirect_uri
    curves = [d for d in datasets if d.spec.finest is not None
              and d.spec.finest.finer_than(Resolution.P1D)]
    access = pending.access
    return await render(request, "consent.html", {
        "recipient": pending.client.recipient,
        "purpose": access.purpose.value if access.purpose else "",
        "points": [str(p.ref) for p in points],
        "foreign_points": foreign,
        "datasets": datasets,
        "resolutions": resolution_choices(replace(access, datasets=frozenset(curves)))
        if curves else [],
        "history_days": access.history.days,
        "duration_days": access.duration.days,
        "redirect_host": urlsplit(redirect_uri).netloc,
        "action": request.path_qs,
        "error": error,
        "notice": consent_notice(negotiate(request)),
        "households": [{"id": h.id, "name": h.name} for h, _ in pending.households],
    }, status=status, form_targets=(_origin(redirect_uri),))


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


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
        if not pending.households:
            await _record_refusal(request, pending, actor, notice)
        return _respond(pending, None)
    if decision != "approve":
        return await consent_page(request, pending, error="consent.nothing", status=400)
    try:
        grantor, household_points = pending.grantor(pairs)
        granted = narrow(pending.access, household_points=household_points,
                         approved=_choices(pairs, pending.access))
        draft = _draft(pending, granted, notice, grantor)
        transition = await request.app[consent_service_key].give(actor, draft)
    except InvalidDetails:
        return await consent_page(request, pending, error="consent.nothing", status=400)
    except DomainError as error:
        log.info("consent refused by the domain: %s", error.detail)
        if role is ActorRole.MANDATARY:
            await _journal_refusal(request, pending, error)
        key = _REFUSAL_KEYS.get(str(error.extra.get("rule")), "consent.not_possible")
        return await consent_page(request, pending, error=key, status=400)
    consent = transition.row
    granted = replace(granted, resolution=_max_resolution(granted))
    pending.exchange.grantee = Grantee(pending.account.id, consent.id, granted,
                                       consent.valid_until)
    response = _respond(pending, pending.exchange.grantee)
    await apply(request.app[database_key], pending.exchange)
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
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise InvalidDetails("Durations are whole numbers of days.", field="days")
    return int(text)


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




_REFUSAL_KEYS = {"R10": "consent.mandate_scope", "R14": "consent.written_path"}


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
        valid_until=pending.exchange.now + granted.duration,
        max_resolution=_max_resolution(granted),
        history_days=granted.history.days,
        text_version=notice.version,
        text_hash=notice.sha256,
    )


async def _record_refusal(request: web.Request, pending: Pending, actor: Actor,
                          notice: Notice) -> None:
    """Record the refusal as a consent ``requested -> refused`` (what was asked, on the
    household's points). If the request cannot even be recorded (nothing it asked exists
    here), the refusal is only logged: the client still gets ``access_denied``."""
    points, _foreign, datasets = _offered(pending)
    if not points or not datasets:
        log.info("refusal of an unrecordable request by account %s", pending.account.id)
        return
    asked = AccessRequest(frozenset(datasets), tuple(p.ref for p in points[:2]),
                          pending.access.resolution, pending.access.history,
                          pending.access.duration, pending.access.purpose)
    service = request.app[consent_service_key]
    try:
        requested = await service.request(actor, _draft(pending, asked, notice))
        await service.refuse(actor, requested.row.id)
    except DomainError as error:
        log.info("refusal not recorded: %s", error.detail)

"""The first sign-in of an OpenID identity: linking it to a household (R15).

``GET/POST /login/oidc/link``, reached from the callback (:mod:`proxy.portal.oidc`) with the
new ``(issuer, subject)`` in a sealed cookie bound to this browser's session cookie. The person
types a point and the number printed on its meter, confirmed by the DSO (R15, the same proof as
claiming a point). The meter number proves *occupancy* (anyone in the hallway, a landlord or a
former flatmate may read it), so it may start or find a household, never take over an account
someone else signs into. With ``current`` the household Passerelle records as the point's client
for the DSO's current customer period:

* this browser is signed into an account of ``current`` (password, reset code...): the identity
  is linked to *that* account, proof ``session+meter_number``. The meter number is still asked:
  a session is a bearer cookie that may be left open on a shared computer, while a link is a
  permanent way in that survives a password change and "sign out everywhere", so it takes the
  same proof as any other link, plus the session, which must be *recent* (see below);
* nobody is signed in (or someone else is) and ``current`` already has a way in
  (:func:`consent.identity.way_in`: a password, a linked identity, a live reset code): refused
  with "this home already has an account: sign in with it first, then with the provider again"
  (409). Nothing is linked, no session starts; the attempt is journalled on that account
  (``account.oidc_link_refused``) and counts against the throttle;
* ``current`` has no way in (registered on paper, never signed into): linked to its account,
  proof ``meter_number``: R15's intended path;
* no ``current``, and this browser is signed into a household's account: the point is claimed
  for *that* household and the identity linked to its account (proof ``session+meter_number``),
  never a new household beside it; the session must be recent too;
* no ``current`` and nobody signed in: a household is created for the person and the point
  claimed for it.

**Recent sign-in.** Both signed-in paths add a permanent way into the signed-in account, so,
like an account's first password (:mod:`proxy.portal.identity`), they take a session whose
person authenticated at most :data:`~proxy.web.session.RECENT_SIGN_IN` ago
(:meth:`~proxy.web.session.SessionState.signed_in_recently`). The session judged is the one
this browser held *before* the provider round trip: the callback leaves it as it is until the
link, and the new identity's ``auth_time`` only dates the session the link would start. Else a
forgotten 12-hour session and a meter number read in the hallway would let anyone link their
own provider account. Not recent: nothing linked, nothing claimed, 403, a page asking to sign
in to the account again first (the password sign-in, then the provider again; without a
password, the provider's fresh re-authentication, back to the security page that links), and
``account.oidc_link_refused`` (reason ``not_recent``) journalled on that account, counted
against the throttle.

A claim is the one of ``/account/claim`` (:class:`~consent.claims.ClaimService`: the point's
lock, a move-in at the start of the DSO's customer period, which ends the previous occupant's
consents, R9; a ``point_claim`` row).

**All or nothing.** The household created for the person (party, account), the link and the
claim are written in *one* transaction (:meth:`~consent.claims.ClaimService.accept_within`):
refused (someone claimed the point since this request looked at it, without its lock) or
failing (the database, a conflict), the whole attempt rolls back, the household included; no
session starts. The DSO is asked before that transaction opens (:func:`verify_meter_number`),
so the point's lock is never held across a call to it, and a DSO that does not answer (502)
leaves nothing either, not even a count against the throttle (it checked nothing). A refused
attempt leaves only its record: the throttle's count (a proof that did not hold, a home that
has an account, a session not recent; counted *before* the DSO is asked, so that concurrent
guesses get no more checks than the limit, and given back by everything else, a failure after
the proof held included: :mod:`proxy.web.ratelimit`), for the last two
``account.oidc_link_refused`` on the owner's account, and the refused ``point_claim`` of a
signed-in household (recorded again after the rollback,
:meth:`~consent.claims.ClaimService.keep_refusal`, as ``/account/claim`` records every attempt
of a household). A claim refused to a household created for the attempt leaves no row at all:
the household is gone, and losing a race is not a guess the throttle should count. The
identity is linked *before* the claim, in that transaction, so two tabs finishing the same
first sign-in cannot create two households nor claim twice: the second stops at the link's
unique key once the first's transaction ends.

Two tabs linking the same identity at once: the second finds it linked (before, or through
:class:`~consent.errors.Conflict` at the unique key) and signs in to that account: never a 500.
Each link is evidence (``external_identity.proof``, event ``account.oidc_linked`` naming the
identity by issuer and masked subject, like every journal event). The session it starts records
the link (removing the identity ends it) and the ID token's ``auth_time``, sealed by the
callback (:mod:`proxy.web.session`: when its person authenticated). The second
path needs the provider round trip again: the sealed cookies are bound to the session cookie,
which signing in replaces; ``state`` and PKCE keep another browser's identity out of it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent import external_identities, identity
from consent.claims import SAME_PERIOD_TOLERANCE, Claimant
from consent.errors import Conflict
from consent.models import (
    DEFAULT_TENANT,
    Account,
    AccountRole,
    ClaimMethod,
    MeteringPoint,
    PartyKind,
)
from consent.services.queries import occupancy_at
from consent.services.registry import add_party
from proxy.keys import claim_service_key, clock_key, database_key, login_throttle_key, settings_key
from proxy.portal import sealed
from proxy.portal.claims import SOURCES, ProofRefused, Verified, parse_point, verify_meter_number
from proxy.portal.fields import FieldErrors
from proxy.portal.pages import confirm, log_event, render_page
from proxy.portal.security import REAUTH_URL
from proxy.web import csrf
from proxy.web.forms import first
from proxy.web.login import login_url, retry_after
from proxy.web.pages import error_page
from proxy.web.ratelimit import address_key
from proxy.web.session import (
    RECENT_SIGN_IN,
    SessionState,
    apply_session_cookie,
    browser_session,
    sign_in,
)

PENDING_COOKIE = "oidc_pending"
#: The proof of a link made from a session signed into the account, plus the meter number.
SESSION_PROOF = "session+meter_number"


@dataclass(frozen=True, slots=True)
class Linked:
    """The identity (link ``link_id``) now signs in as ``account``; ``proof`` how this request
    linked it, ``None`` when it was linked already (by a concurrent tab)."""

    account: Account
    proof: str | None
    link_id: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing linked: ``message_key`` to show; ``owner``, the account that must sign in first,
    and why (``reason``, journalled): ``has_account``, the point's household already has a way
    in; ``not_recent``, this browser's session into it is not recent (module docstring)."""

    message_key: str
    owner: Account | None = None
    reason: str = "has_account"


async def _link_page(request: web.Request, *, errors: FieldErrors | None = None,
                     values: dict[str, str] | None = None, status: int = 200,
                     signin_url: str = "",
                     signin_key: str = "portal.oidc.sign_in_first") -> web.Response:
    return await render_page(request, "portal/oidc_link.html", {
        "sources": SOURCES, "errors": errors or FieldErrors(),
        "values": values or {"source": SOURCES[0].value}, "signin_url": signin_url,
        "signin_key": signin_key, "label": request.app[settings_key].oidc_label,
        "recent_minutes": int(RECENT_SIGN_IN.total_seconds()) // 60,
    }, section="none", status=status, here="/login/oidc/link")


async def link_form(request: web.Request) -> web.StreamResponse:
    """``GET /login/oidc/link``: only with an identity waiting to be linked."""
    if await sealed.unseal(request, PENDING_COOKIE) is None:
        return await error_page(request, "portal.oidc.expired", status=400)
    return await _link_page(request)


async def link_submit(request: web.Request) -> web.StreamResponse:
    """``POST /login/oidc/link``: prove the household by a point and its meter number."""
    waiting = await sealed.unseal(request, PENDING_COOKIE)
    if waiting is None:
        return await error_page(request, "portal.oidc.expired", status=400)
    try:
        pairs = await csrf.read_verified_form(request)
    except csrf.FORM_REJECTED:
        return await error_page(request, "error.csrf", status=403)
    values = {k: first(pairs, k) for k in ("source", "identifier")}
    errors = FieldErrors()
    throttle = request.app[login_throttle_key]
    # Counted before the DSO checks the meter number (proxy/web/ratelimit.py), given back below
    # when nothing was checked.
    attempt = await throttle.attempt(f"oidc:{waiting['sub']}", address_key(request.remote))
    if isinstance(attempt, timedelta):
        errors.add("form", "login.throttled")
        response = await _link_page(request, errors=errors, values=values, status=429)
        response.headers["Retry-After"] = retry_after(attempt)
        return response
    try:
        verified = await verify_meter_number(request.app, parse_point(
            values["source"], values["identifier"]), first(pairs, "meter_number"))
    except ProofRefused as refused:
        if not refused.is_guess:  # a DSO that did not answer checked nothing
            await throttle.release(attempt)
        errors.add(refused.field, refused.message_key)
        return await _link_page(request, errors=errors, values=values, status=refused.status)
    try:
        outcome = await _link(request, verified, waiting)
    except Conflict:  # another tab linked this identity between our check and our write
        outcome = await _already_linked(request, waiting) or Refused("portal.oidc.conflict")
    except Exception:
        with contextlib.suppress(Exception):  # the proof held: a failure after it is no guess
            await throttle.release(attempt)
        raise
    if isinstance(outcome, Refused):
        errors.add("form", outcome.message_key)
        if outcome.owner is None:  # a race lost, no guess
            await throttle.release(attempt)
            return await _link_page(request, errors=errors, values=values, status=409)
        await log_event(request, outcome.owner, "account.oidc_link_refused",
                        target=str(verified.ref),
                        details={**_who(waiting), "reason": outcome.reason})
        again = login_url("/login/oidc?next=" + quote(str(waiting["next"]), safe="/"))
        if outcome.reason == "has_account":
            return await _link_page(request, errors=errors, values=values, status=409,
                                    signin_url=again)
        # Not recent: the password sign-in, then the provider again; without a password, the
        # provider's fresh re-authentication, to the security page, which offers the link.
        if outcome.owner.password_hash == identity.NO_PASSWORD:
            again, key = REAUTH_URL, "portal.security.reauth"
        else:
            key = "portal.oidc.sign_in_again"
        return await _link_page(request, errors=errors, values=values, status=403,
                                signin_url=again, signin_key=key)
    if outcome.proof is not None:
        await log_event(request, outcome.account, "account.oidc_linked",
                        target=str(verified.ref), details={
                            **_who(waiting), "proof": outcome.proof,
                            "identity": f"external_identity:{outcome.link_id}"})
    await throttle.release(attempt)
    try:
        state = await sign_in(request, outcome.account, method="oidc",
                              identity_id=outcome.link_id,
                              authenticated_at=_auth_time(waiting))
    except Conflict:  # removed from the account's security page in between
        return await error_page(request, "portal.oidc.expired", status=409)
    response = await confirm(request, str(waiting["next"]), "portal.done.oidc_linked")
    apply_session_cookie(request, response, state)
    sealed.drop(response, PENDING_COOKIE)
    return response


def _auth_time(waiting: dict[str, Any]) -> datetime | None:
    """The ID token's ``auth_time`` the callback sealed (ISO 8601, or ``None``: unknown)."""
    value = waiting.get("auth_time")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _who(waiting: dict[str, Any]) -> dict[str, str | int | bool | None]:
    return external_identities.journal_identity(str(waiting["iss"]), str(waiting["sub"]))


def _signed_in_household(account: Account | None) -> Account | None:
    """The account this browser is signed into, if it is a household's of this tenant."""
    if (account is not None and account.tenant_id == DEFAULT_TENANT
            and account.has_role(AccountRole.HOUSEHOLD)):
        return account
    return None


async def _already_linked(request: web.Request, waiting: dict[str, Any]) -> Linked | None:
    async with request.app[database_key].session() as session:
        known = await external_identities.linked_account(
            session, DEFAULT_TENANT, str(waiting["iss"]), str(waiting["sub"]),
            request.app[clock_key].now())
    return Linked(known.account, None, known.link.id) if known is not None else None


class _ClaimRefused(Exception):
    """The claim was refused: raised inside the link's transaction to roll back everything the
    attempt wrote; ``claim`` holds the refused claim's fields, kept again afterwards if the
    claimant household existed before (``kept``)."""

    def __init__(self, claim: dict[str, Any], *, kept: bool) -> None:
        super().__init__("claim refused")
        self.claim, self.kept = claim, kept


async def _link(request: web.Request, verified: Verified,
                waiting: dict[str, Any]) -> Linked | Refused:
    """Decide and write the link, and the claim if it takes one, all or nothing (module
    docstring); :class:`Conflict` if a concurrent request linked the identity first, any other
    error as it comes: nothing written either way."""
    if (already := await _already_linked(request, waiting)) is not None:
        return already
    state = await browser_session(request)  # still the one from before the round trip
    try:
        async with request.app[database_key].session() as session:
            return await _write(request, session, verified, waiting, state)
    except _ClaimRefused as refused:
        if refused.kept:  # a household that existed before: its attempt stays evidence
            await request.app[claim_service_key].keep_refusal(refused.claim)
        return Refused("portal.err.claim.taken")


async def _write(request: web.Request, session: AsyncSession, verified: Verified,
                 waiting: dict[str, Any], state: SessionState) -> Linked | Refused:
    """:func:`_link`'s decision and writes, in its transaction (``state``: this browser's
    session)."""
    issuer, subject = str(waiting["iss"]), str(waiting["sub"])
    signed_in = _signed_in_household(state.account)
    now = request.app[clock_key].now()
    stale = (Refused("portal.oidc.session_not_recent", signed_in, reason="not_recent")
             if signed_in is not None and not state.signed_in_recently(now) else None)
    # A first look, without the point's lock: which path to take. The claim below takes the
    # lock and decides again on what is current.
    point = (await session.exec(select(MeteringPoint).where(
        MeteringPoint.tenant_id == DEFAULT_TENANT,
        MeteringPoint.source == verified.ref.source,
        MeteringPoint.identifier == verified.ref.identifier))).first()
    current = await occupancy_at(session, point.id, now) if point is not None else None
    if current is not None and (current.starts_at >= verified.facts.customer_since
                                - SAME_PERIOD_TOLERANCE):
        household = current.household_id
        if signed_in is not None and signed_in.party_id == household:
            if stale is not None:
                return stale
            account, proof = signed_in, SESSION_PROOF
        elif (owner := await identity.way_in(session, DEFAULT_TENANT, household,
                                             now)) is not None:
            return Refused("portal.oidc.has_account", owner)
        else:
            account = await identity.household_account(session, DEFAULT_TENANT, household, now)
            proof = "meter_number"
        link = await external_identities.link_identity(session, account, issuer, subject,
                                                       proof, now)
        return Linked(account, proof, link.id)
    if signed_in is not None:  # claimed for the signed-in household, not a new one
        if stale is not None:
            return stale
        account, proof, via = signed_in, SESSION_PROOF, "oidc link, signed in"
    else:
        party = await add_party(session, tenant_id=DEFAULT_TENANT, kind=PartyKind.HOUSEHOLD,
                                name=str(waiting["name"]) or "—", now=now)
        account = await identity.household_account(session, DEFAULT_TENANT, party.id, now)
        proof, via = "meter_number", "oidc first sign-in"
    # Linked before the claim, in the same transaction: a second tab finishing the same sign-in
    # stops at the link's unique key (it waits for this transaction on PostgreSQL, for the
    # database's write lock on SQLite), then finds the identity linked or free again.
    link = await external_identities.link_identity(session, account, issuer, subject, proof,
                                                   now)
    result = await request.app[claim_service_key].accept_within(
        session, Claimant(account.party_id, account.id, DEFAULT_TENANT), verified.ref,
        ClaimMethod.METER_NUMBER, verified.facts,
        {"meter_number": "confirmed by the DSO", "via": via})
    if not result.accepted:  # claimed by someone else since the first look
        raise _ClaimRefused(result.claim.model_dump(), kept=signed_in is not None)
    return Linked(account, proof, link.id)

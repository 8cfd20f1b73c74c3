"""Password reset without a mailbox (R7), and the household's security page.

``GET/POST /account/reset`` (public): username, the reset code the operator handed over
(``passerelle accounts reset-code``, see :mod:`consent.identity`), the number printed on the
meter of one of the household's points (asked of the DSO, R15), and the new password twice.
Any wrong proof gets one and the same answer, and counts against the login throttle of the
tenant's username and the address (:mod:`proxy.web.ratelimit`: counted *before* the code and
the meter number are checked, so concurrent guesses get no more checks than the limit); a
success ends every session of the account and signs this browser in with a fresh one (method
``reset``).

The forms of ``/account/security`` (the page itself: :mod:`proxy.portal.security`): the
password and signing out everywhere (every session of the account ends, this one included).
Changing a password takes the current one, checked under the login throttle of the account and
the address like ``/login`` (OWASP ASVS 4.0 V2.2.1: a session left open must not be a way to
guess the password it protects): each check counts before it runs, and while the account or
address is locked the form is refused with 429 and ``Retry-After``, the password unchecked. An
account without one (registered through OpenID
only, or on paper) chooses its first password there too: the signed-in session is the proof,
so it must be a *recent* one: its person authenticated at most
:data:`~proxy.web.session.RECENT_SIGN_IN` ago (the session's ``authenticated_at``: a password
or reset code typed, or the OpenID provider's ``auth_time``; not when the session opened, since
a provider may sign a shared computer in silently). A session left open lasts hours, a password
is a permanent way in. An older or unknown one's form is refused (403, nothing written, nothing
journalled, like the other refused forms) and the page offers to sign in again through the
provider (:mod:`proxy.portal.oidc`, ``reauth=1``), which comes back to the page. Then:
CSRF-checked, the same policy and argon2id hashing; journalled ``account.password_set`` with
how the session signed in; the browser's new session keeps that sign-in method, identity and
``authenticated_at``, since nothing new was proven. Either way every other session ends (and
after a change, the new session keeps ``authenticated_at`` too).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web

from adapters.base import MeterNumberCheck
from adapters.errors import UpstreamError
from consent import identity
from consent.errors import Conflict, DomainError
from consent.households import occupied_points
from consent.logins import check_password, find_account
from consent.models import DEFAULT_TENANT, Account, AccountRole
from proxy.keys import (
    adapters_key,
    clock_key,
    database_key,
    login_throttle_key,
)
from proxy.portal.fields import FieldErrors
from proxy.portal.pages import Household, confirm, household_page, log_event, render_page
from proxy.portal.security import security_view
from proxy.web import csrf
from proxy.web.forms import first
from proxy.web.login import retry_after, safe_tenant
from proxy.web.ratelimit import account_key, address_key
from proxy.web.session import apply_session_cookie, browser_session, sign_in, sign_out

GENERIC = "portal.err.reset.proof"


async def _reset_page(request: web.Request, *, errors: FieldErrors | None = None,
                      username: str = "", tenant: str = DEFAULT_TENANT,
                      status: int = 200) -> web.Response:
    return await render_page(request, "portal/reset.html",
                             {"errors": errors or FieldErrors(), "username": username,
                              "tenant": tenant, "register_tenant": tenant},
                             section="none", status=status, here="/account/reset")


async def reset_form(request: web.Request) -> web.StreamResponse:
    """``GET /account/reset[?tenant=...]``."""
    return await _reset_page(request, tenant=safe_tenant(request.query.get("tenant")))


def _new_password(pairs: list[tuple[str, str]], username: str, errors: FieldErrors) -> str:
    password = first(pairs, "password")
    if password != first(pairs, "password2"):
        errors.add("password2", "portal.err.password.mismatch")
    try:
        identity.check_new_password(password, username)
    except DomainError as error:
        errors.from_domain(error)
    return password


async def _meter_matches(request: web.Request, account: Account, typed: str) -> bool:
    """True if ``typed`` is printed on the meter of one of the account's household points."""
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        points = await occupied_points(session, account.tenant_id, account.party_id, now)
    number = "".join(typed.split())
    if not 4 <= len(number) <= 32:
        return False
    for point in points:
        adapter = request.app[adapters_key].get(point.ref.source)
        if isinstance(adapter, MeterNumberCheck):
            try:
                if await adapter.check_meter_number(point.ref, number):
                    return True
            except UpstreamError:
                continue
    return False


async def reset_submit(request: web.Request) -> web.StreamResponse:
    """``POST /account/reset``."""
    try:
        pairs = await csrf.read_verified_form(request)
    except csrf.FORM_REJECTED:
        errors = FieldErrors()
        errors.add("form", "error.csrf")
        return await _reset_page(request, errors=errors, status=403)
    username = first(pairs, "username").strip()
    tenant = safe_tenant(first(pairs, "tenant"))
    errors = FieldErrors()
    password = _new_password(pairs, username, errors)
    if errors:
        return await _reset_page(request, errors=errors, username=username, status=400)
    throttle = request.app[login_throttle_key]
    attempt = await throttle.attempt(account_key(tenant, username), address_key(request.remote))
    if isinstance(attempt, timedelta):
        errors.add("form", "login.throttled")
        response = await _reset_page(request, errors=errors, username=username, status=429)
        response.headers["Retry-After"] = retry_after(attempt)
        return response
    now = request.app[clock_key].now()
    db = request.app[database_key]
    async with db.session() as session:
        account = await find_account(session, username, tenant)
        reset = (await identity.live_reset(session, account, first(pairs, "code"), now)
                 if account is not None else None)
    valid = (account is not None and reset is not None and not account.disabled
             and account.has_role(AccountRole.HOUSEHOLD)
             and await _meter_matches(request, account, first(pairs, "meter_number")))
    if not valid or account is None or reset is None:  # the attempt stays counted
        errors.add("form", GENERIC)
        return await _reset_page(request, errors=errors, username=username, status=400)
    async with db.session() as session:
        account = await session.merge(account)
        completed = await identity.complete_reset(session, account, reset, password, now)
    if not completed:  # the proof held, but another use of the code won the race: no guess
        await throttle.release(attempt)
        errors.add("form", GENERIC)
        return await _reset_page(request, errors=errors, username=username, status=400)
    await throttle.release(attempt)
    await log_event(request, account, "account.password_reset",
                    details={"method": "reset_code"})
    state = await sign_in(request, account, method="reset", authenticated_at=now)
    response = await confirm(request, "/account", "portal.done.reset")
    apply_session_cookie(request, response, state)
    return response


@household_page
async def change_password(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/security/password``: the new password twice, and the current one unless
    the account has none yet (module docstring)."""
    pairs = await csrf.read_verified_form(request)
    errors = FieldErrors()
    account = household.account
    first_one = account.password_hash == identity.NO_PASSWORD
    if first_one and not (await browser_session(request)).signed_in_recently(
            request.app[clock_key].now()):
        errors.add("reauth", "portal.err.password.not_recent")
        return await security_view(request, household, errors=errors, status=403)
    password = _new_password(pairs, account.username, errors)
    if not first_one:
        refused = await _check_current(request, account, first(pairs, "current"), errors)
        if refused is not None:
            response = await security_view(request, household, errors=errors, status=429)
            response.headers["Retry-After"] = retry_after(refused)
            return response
    if errors:
        return await security_view(request, household, errors=errors, status=400)
    if first_one:
        return await _first_password(request, household, password)
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        account = await session.merge(account)
        await identity.set_password(session, account, password, now)
    await log_event(request, account, "account.password_changed")
    # This browser stays signed in, with a new cookie and the instant it authenticated at.
    state = await sign_in(request, account,
                          authenticated_at=(await browser_session(request)).authenticated_at)
    response = await confirm(request, "/account/security", "portal.done.password")
    apply_session_cookie(request, response, state)
    return response


async def _check_current(request: web.Request, account: Account, typed: str,
                         errors: FieldErrors) -> timedelta | None:
    """Check ``typed`` against ``account``'s password under the login throttle (module
    docstring); a wrong one adds its error, a locked account or address returns the wait,
    nothing checked."""
    throttle = request.app[login_throttle_key]
    attempt = await throttle.attempt(account_key(account.tenant_id, account.username),
                                     address_key(request.remote))
    if isinstance(attempt, timedelta):
        errors.add("current", "login.throttled")
        return attempt
    if await asyncio.get_running_loop().run_in_executor(None, check_password, account, typed):
        await throttle.release(attempt)
    else:  # the attempt stays counted
        errors.add("current", "portal.err.password.current")
    return None


async def _first_password(request: web.Request, household: Household,
                          password: str) -> web.StreamResponse:
    account, previous = household.account, await browser_session(request)
    try:
        async with request.app[database_key].session() as session:
            await identity.set_first_password(session, account, password,
                                              request.app[clock_key].now())
    except Conflict:  # another tab chose one first: nothing changed here
        errors = FieldErrors()
        errors.add("current", "portal.err.password.now_set")
        return await security_view(request, household, errors=errors, status=409)
    method = previous.method or "password"
    await log_event(request, account, "account.password_set",
                    details={"proof": "session", "session_method": method})
    try:  # the session was the proof: the new one says how it signed in, not "password"
        state = await sign_in(request, account, method=method,
                              identity_id=previous.identity_id,
                              authenticated_at=previous.authenticated_at)
        location = "/account/security"
    except Conflict:  # its identity was removed meanwhile: signed out, the password stays
        state, location = await sign_out(request), "/account/signed-out"
    response = await confirm(request, location, "portal.done.password_set")
    apply_session_cookie(request, response, state)
    return response


@household_page
async def logout_everywhere(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/security/logout-all``: end every session of the account."""
    await csrf.read_verified_form(request)
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        ended = await identity.end_all_sessions(session, household.account.id, now)
    await log_event(request, household.account, "account.logout_everywhere",
                    details={"sessions": ended})
    state = await sign_out(request)
    response = await confirm(request, "/account/signed-out", "portal.done.logout_all",
                             count=str(ended))
    apply_session_cookie(request, response, state)
    return response


async def signed_out(request: web.Request) -> web.StreamResponse:
    """``GET /account/signed-out``: where signing out everywhere lands."""
    return await render_page(request, "portal/signed_out.html", {}, section="none")

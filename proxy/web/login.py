"""Sign-in and sign-out pages of local accounts.

``GET /login?next=/path`` shows the form (``autocomplete="username"`` and
``"current-password"``, so password managers fill it); ``POST /login`` checks the CSRF token,
counts the attempt in the throttle (:mod:`proxy.web.ratelimit`: the tenant's username and the
address, *before* the check, so a concurrent burst gets no more checks than the limit), then
checks the password with argon2id in a worker thread, and answers ``303 See Other`` to
``next``, which must be a path on this site (no open redirect). ``POST /logout`` ends the
session.
"""

from __future__ import annotations

import asyncio
import math
import re
from datetime import timedelta
from urllib.parse import urlencode

from aiohttp import web

from consent.logins import check_password, find_account
from consent.models import DEFAULT_TENANT
from proxy.keys import clock_key, database_key, login_throttle_key, settings_key
from proxy.web import csrf
from proxy.web.forms import first
from proxy.web.pages import error_page, see_other
from proxy.web.ratelimit import account_key, address_key
from proxy.web.session import apply_session_cookie, sign_in, sign_out
from proxy.web.templates import render

_TENANT_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


def retry_after(wait: timedelta) -> str:
    """A ``Retry-After`` header's value (whole seconds, at least 1: RFC 9110 §10.2.3)."""
    return str(max(1, math.ceil(wait.total_seconds())))


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no scheme, host or ``//``).

    Only printable ASCII (``!`` to ``~``) is kept: it goes back out in a ``Location`` header,
    where aiohttp refuses control characters (DEL 0x7F too) by dropping the connection after
    the password was checked, and where a space or a non-ASCII character is no valid URL.
    Our own paths never hold either (they are percent-encoded), so the fall-back loses nothing.
    """
    if (not target or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(not 0x21 <= ord(c) <= 0x7E for c in target)):
        return "/"
    return target


def login_url(next_path: str, tenant: str = DEFAULT_TENANT) -> str:
    """The login page that comes back to ``next_path`` afterwards; ``tenant`` is where the
    account is looked up (usernames are unique per tenant, R24)."""
    params = {"next": next_path}
    if tenant != DEFAULT_TENANT:
        params["tenant"] = tenant
    return "/login?" + urlencode(params)


def safe_tenant(value: str | None) -> str:
    """A well-formed tenant id, else the default tenant (never an error page: an unknown
    tenant simply has no account)."""
    if value and _TENANT_ID.fullmatch(value):
        return value
    return DEFAULT_TENANT


async def login_form(request: web.Request) -> web.Response:
    """``GET /login``."""
    return await _form(request, next_path=safe_next(request.query.get("next")),
                       tenant=safe_tenant(request.query.get("tenant")))


async def _form(request: web.Request, *, next_path: str, tenant: str, username: str = "",
                error: str | None = None, status: int = 200) -> web.Response:
    settings = request.app[settings_key]
    return await render(request, "login.html",
                        {"next": next_path, "username": username, "error": error,
                         "tenant": tenant, "register_tenant": tenant,
                         "oidc_label": settings.oidc_label if settings.oidc_enabled else None},
                        status=status)


async def login_submit(request: web.Request) -> web.StreamResponse:
    """``POST /login``: throttle, verify (off the loop), rotate the session, 303."""
    try:
        pairs = await csrf.read_verified_form(request)
    except csrf.FORM_REJECTED:
        return await error_page(request, "error.csrf", status=403)
    username = first(pairs, "username").strip()
    password = first(pairs, "password")
    next_path = safe_next(first(pairs, "next"))
    tenant = safe_tenant(first(pairs, "tenant"))
    throttle = request.app[login_throttle_key]
    attempt = await throttle.attempt(account_key(tenant, username), address_key(request.remote))
    if isinstance(attempt, timedelta):
        response = await _form(request, next_path=next_path, tenant=tenant, username=username,
                               error="login.throttled", status=429)
        response.headers["Retry-After"] = retry_after(attempt)
        return response
    async with request.app[database_key].session() as session:
        account = await find_account(session, username, tenant)
    # argon2id costs tens of milliseconds of CPU: never on the event loop.
    valid = await asyncio.get_running_loop().run_in_executor(None, check_password, account,
                                                             password)
    if not valid or account is None:  # the attempt stays counted
        return await _form(request, next_path=next_path, tenant=tenant, username=username,
                           error="login.failed")
    await throttle.release(attempt)
    state = await sign_in(request, account, authenticated_at=request.app[clock_key].now())
    response = see_other(next_path)
    apply_session_cookie(request, response, state)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """``POST /logout``."""
    try:
        await csrf.read_verified_form(request)
    except csrf.FORM_REJECTED:
        return await error_page(request, "error.csrf", status=403)
    state = await sign_out(request)
    response = see_other("/login")
    apply_session_cookie(request, response, state)
    return response

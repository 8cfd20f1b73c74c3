"""Browser sessions: one random cookie, rotated at sign-in, a database row while signed in.

The cookie is ``__Host-passerelle`` over https (Secure, Path=/, no Domain: RFC 6265bis
"__Host-" prefix) and ``passerelle`` on plain-http development instances; always HttpOnly and
SameSite=Lax. A visitor who is not signed in still gets a random cookie, never stored, so that
the login form carries a CSRF token bound to it (login CSRF). Signing in replaces the cookie
with a new value (no session fixation) and stores only its digest; signing out ends the row.
Sessions last :data:`SESSION_LIFETIME` at most, whatever the activity. A session remembers how
the person signed in and, through OpenID, with which linked identity: removing that identity
ends it (:func:`consent.external_identities.remove_identity`).

**Recent sign-in.** A session is a bearer cookie that may stay open on a shared computer for
its whole lifetime, so the few acts that add a permanent way into an account without any other
proof (an account's first password; an OpenID identity linked to the signed-in account,
:mod:`proxy.portal.oidc_link`) also ask that the person *authenticated* at most
:data:`RECENT_SIGN_IN` ago, on the app clock: "sudo mode". That instant is the row's
``authenticated_at``, not its ``created_at``: opening a session is not proving anything when an
OpenID provider signs the browser in silently on its own session, hours old. A password or a
reset code sets it to the moment the session opens; an OpenID sign-in to the ID token's
``auth_time`` (:attr:`proxy.portal.oidc_client.Identity.auth_time`), ``NULL`` (never recent)
without one; a session re-issued without a new proof carries its predecessor's
(:func:`sign_in`'s ``authenticated_at``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from consent.errors import Conflict
from consent.models import Account, BrowserSession
from consent.tokens import (
    SESSION_PREFIX,
    digest,
    end_browser_session,
    find_browser_session,
    new_secret,
)
from proxy.keys import clock_key, database_key, settings_key

SESSION_LIFETIME = timedelta(hours=12)
#: How long after signing in a session counts as recent (module docstring). Also the
#: ``max_age`` asked of the OpenID provider when signing in again for that reason.
RECENT_SIGN_IN = timedelta(minutes=10)
_COOKIE_VALUE = re.compile(re.escape(SESSION_PREFIX) + r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class SessionState:
    """The browser's session: its cookie value, and the signed-in account if any.

    ``fresh`` means the browser does not hold ``cookie`` yet (the response must set it).
    ``method`` and ``identity_id`` say how a signed-in session signed in (``password``,
    ``reset``, ``oidc``) and, through OpenID, with which linked identity;
    ``authenticated_at`` when the person last proved who they are (``None``: unknown).
    """

    cookie: str
    account: Account | None
    fresh: bool
    method: str | None = None
    identity_id: str | None = None
    authenticated_at: datetime | None = None

    @property
    def account_id(self) -> str | None:
        """The signed-in account's id, or ``None``."""
        return self.account.id if self.account is not None else None

    def signed_in_recently(self, now: datetime) -> bool:
        """True if signed in and authenticated at most :data:`RECENT_SIGN_IN` before ``now``
        (the app clock); an unknown instant is not recent."""
        return (self.account is not None and self.authenticated_at is not None
                and now - self.authenticated_at <= RECENT_SIGN_IN)


session_key = web.RequestKey("browser_session", SessionState)


def cookie_name(request: web.Request) -> str:
    """``__Host-passerelle`` when served over https, else ``passerelle``."""
    return "__Host-passerelle" if _https(request) else "passerelle"


def _https(request: web.Request) -> bool:
    return request.app[settings_key].issuer.startswith("https://")


async def browser_session(request: web.Request) -> SessionState:
    """The session of this request (looked up once, then cached on the request)."""
    if session_key in request:
        return request[session_key]
    raw = request.cookies.get(cookie_name(request), "")
    state = SessionState(new_secret(SESSION_PREFIX), None, fresh=True)
    if _COOKIE_VALUE.fullmatch(raw):
        state = SessionState(raw, None, fresh=False)
        now = request.app[clock_key].now()
        async with request.app[database_key].session() as session:
            row = await find_browser_session(session, raw, now)
            account = await session.get(Account, row.account_id) if row else None
        if row is not None and account is not None and not account.disabled:
            state = SessionState(raw, account, fresh=False, method=row.auth_method,
                                 identity_id=row.external_identity_id,
                                 authenticated_at=row.authenticated_at)
    request[session_key] = state
    return state


def apply_session_cookie(request: web.Request, response: web.StreamResponse,
                         state: SessionState) -> None:
    """Set the cookie on ``response`` when the browser does not hold it yet."""
    if state.fresh:
        response.set_cookie(cookie_name(request), state.cookie, httponly=True,
                            secure=_https(request), samesite="Lax", path="/")


async def sign_in(request: web.Request, account: Account, *,
                  authenticated_at: datetime | None, method: str = "password",
                  identity_id: str | None = None) -> SessionState:
    """Start a signed-in session with a brand-new cookie; the previous one is ended.
    ``authenticated_at`` is when the person proved who they are (module docstring): the
    caller's ``now`` for a password or a reset code typed in this request, the ID token's
    ``auth_time`` (or ``None``) for OpenID, the previous session's for a session re-issued
    without a new proof. ``method`` records how (``password``, ``reset``, ``oidc``): evidence
    of the decisions taken in the session (R15); ``identity_id`` the linked identity an
    ``oidc`` sign-in used. :class:`Conflict` (nothing changes) if that identity was removed
    since the caller found it (its row is gone: the foreign key refuses)."""
    previous = await browser_session(request)
    now = request.app[clock_key].now()
    cookie = new_secret(SESSION_PREFIX)
    try:
        async with request.app[database_key].session() as session:
            await end_browser_session(session, previous.cookie, now)
            session.add(BrowserSession(token_hash=digest(cookie), account_id=account.id,
                                       tenant_id=account.tenant_id, created_at=now,
                                       expires_at=now + SESSION_LIFETIME, auth_method=method,
                                       external_identity_id=identity_id,
                                       authenticated_at=authenticated_at))
    except IntegrityError:  # the cookie is fresh (256 bits): only the identity can be gone
        raise Conflict("This identity was removed meanwhile.", field="identity") from None
    state = SessionState(cookie, account, fresh=True, method=method, identity_id=identity_id,
                         authenticated_at=authenticated_at)
    request[session_key] = state
    return state


async def sign_out(request: web.Request) -> SessionState:
    """End the signed-in session; the browser gets a new anonymous cookie."""
    previous = await browser_session(request)
    async with request.app[database_key].session() as session:
        await end_browser_session(session, previous.cookie, request.app[clock_key].now())
    state = SessionState(new_secret(SESSION_PREFIX), None, fresh=True)
    request[session_key] = state
    return state

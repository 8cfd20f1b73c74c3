"""What every household page shares: who is signed in, how a page is rendered, how errors look.

:func:`household_page` wraps a handler ``(request, household) -> response``:

* a visitor who is not signed in is sent to the login page (``303``, coming back afterwards);
* a signed-in account that is not a household's gets a 403 page;
* :class:`~consent.errors.NotFound` becomes the same HTML 404 page whether the id does not exist
  or belongs to another household (ids in URLs are never an oracle, R24);
* a form whose CSRF token or origin does not match gets the "form expired" page (403), and
  nothing is done.

:func:`render_page` adds the navigation, the date formatting, the reasons of history events
(:mod:`proxy.portal.reasons`) and the one-shot confirmation (:mod:`proxy.portal.flash`) to
:func:`proxy.web.templates.render`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import wraps
from typing import Any

from aiohttp import web

from consent.errors import NotFound
from consent.evidence.events import AdminEvent, Refs
from consent.evidence.records import Notice
from consent.lifecycle import ActorRole
from consent.models import Account, AccountRole, Channel
from consent.services import Actor
from proxy.keys import clock_key, decision_recorder_key, rules_key
from proxy.portal import flash
from proxy.portal.format import Formatter
from proxy.portal.reasons import explain
from proxy.web import csrf
from proxy.web.i18n import negotiate
from proxy.web.login import login_url
from proxy.web.pages import error_page
from proxy.web.session import browser_session, session_key
from proxy.web.templates import render


@dataclass(frozen=True, slots=True)
class Household:
    """The signed-in household: its account, party and tenant."""

    account: Account

    @property
    def party_id(self) -> str:
        """The household party (the data subject)."""
        return self.account.party_id

    @property
    def tenant_id(self) -> str:
        """Its tenant (every query is scoped to it, R24)."""
        return self.account.tenant_id

    def actor(self) -> Actor:
        """The household acting on its own page (role ``subject``, channel ``web``)."""
        return Actor(ActorRole.SUBJECT, party_id=self.account.party_id,
                     account_id=self.account.id, channel=Channel.WEB,
                     tenant_id=self.account.tenant_id)


Handler = Callable[[web.Request, Household], Awaitable[web.StreamResponse]]


class NotAHousehold(Exception):
    """The signed-in account has no household role."""


async def current_household(request: web.Request) -> Household | None:
    """The signed-in household, ``None`` when nobody is signed in; raises
    :class:`NotAHousehold` for staff accounts."""
    state = await browser_session(request)
    if state.account is None:
        return None
    if not state.account.has_role(AccountRole.HOUSEHOLD):
        raise NotAHousehold
    return Household(state.account)


def household_page(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Decorate a household page (see the module docstring)."""

    @wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            household = await current_household(request)
        except NotAHousehold:
            return await error_page(request, "portal.not_household", status=403,
                                    title_key="portal.forbidden.title")
        if household is None:
            target = request.path_qs if request.method == "GET" else "/account"
            raise web.HTTPSeeOther(login_url(target))
        try:
            return await handler(request, household)
        except NotFound:
            return await not_found(request)
        except csrf.FORM_REJECTED:
            return await error_page(request, "error.csrf", status=403)

    return wrapper


async def not_found(request: web.Request) -> web.Response:
    """The one 404 page of the portal."""
    return await error_page(request, "portal.not_found", status=404,
                            title_key="portal.not_found.title")


async def render_page(request: web.Request, template: str, context: dict[str, Any], *,
                      section: str, status: int = 200, here: str | None = None) -> web.Response:
    """Render a household page: navigation marks ``section`` as current; a pending
    confirmation is shown once and cleared. ``here``: see :func:`proxy.web.templates.render`
    (a page re-rendered after a POST passes its GET address)."""
    lang = negotiate(request)
    shown = await flash.take(request)
    if here is None and request.method != "GET":
        here = request.path  # its GET shows the same form, without the query
    response = await render(request, template, {
        "section": section, "fmt": Formatter(lang), "flash": shown, "explain_reason": explain,
        **context,
    }, status=status, here=here)
    if shown is not None:
        flash.clear(response)
    return response


async def confirm(request: web.Request, location: str, message_key: str,
                  **values: str) -> web.Response:
    """``303`` to ``location`` with a confirmation to show there once (R20: every decision
    is confirmed on screen)."""
    response = web.Response(status=303, headers={"Location": location})
    await flash.put(request, response, message_key, values)
    return response


def recorded(request: web.Request, household: Household, shown: Notice | None = None,
             ) -> AbstractAsyncContextManager[Actor]:
    """The household's actor for the block that decides: how it signed in and ``shown``, the
    notice of the terms the page showed, go into the signed records of its consent and mandate
    changes (:mod:`proxy.portal.recording`)."""
    state = request.get(session_key)
    cookie = state.cookie if state is not None else ""
    return request.app[decision_recorder_key].recording(cookie, household.account,
                                                        household.actor(), shown)


async def log_event(request: web.Request, account: Account, action: str, *,
                    target: str | None = None,
                    details: dict[str, str | int | bool | None] | None = None) -> None:
    """Append a household's page action (port request, claim, sign-in link, password) to the
    evidence log as an admin event of its household (R16)."""
    await request.app[rules_key].evidence.admin(AdminEvent(
        at=request.app[clock_key].now(), actor=f"account:{account.id}", action=action,
        refs=Refs(tenant=account.tenant_id, household_id=account.party_id), target=target,
        details=details or {}))

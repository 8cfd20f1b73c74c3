"""How every staff API handler runs: authenticate, check the role, act, journal (R16, R19).

``Authorization: Bearer pas_stf_...`` (a token of one staff account, see :mod:`consent.staff`)
identifies the principal; an unknown, expired or revoked token is a 401 with a Bearer
challenge. :func:`staff_endpoint` then requires one of the handler's permissions, runs it, and
journals the outcome: ``done`` with the target, or ``denied`` with the error's sentence and rule
(the error is then rendered as problem+json by the error middleware). A refusal is journaled in
its own transaction, so a refused action leaves its trace although it wrote nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from consent.errors import NotPermitted, PasserelleError
from consent.journal import DENIED, DONE, JournalEntry
from consent.staff import Permission, StaffPrincipal, authenticate_token
from proxy.auth import bearer_value
from proxy.errors import InvalidToken
from proxy.keys import clock_key, database_key, rules_key

log = logging.getLogger("passerelle.staff")


@dataclass(frozen=True, slots=True)
class Answer:
    """A handler's result: the JSON body, its status, and what the journal should say.
    ``response`` replaces the JSON body when the answer is not JSON (a proof document)."""

    body: Any
    status: int = 200
    target: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    response: web.Response | None = None


StaffHandler = Callable[[web.Request, StaffPrincipal], Awaitable[Answer]]


async def staff_principal(request: web.Request) -> StaffPrincipal:
    """The principal of the request's staff token, or :class:`InvalidToken` (401)."""
    raw = bearer_value(request)
    async with request.app[database_key].session() as session:
        principal = await authenticate_token(session, raw, request.app[clock_key].now())
    if principal is None:
        raise InvalidToken("This is not a valid staff token (unknown, expired or revoked, or "
                           "the account is no longer staff).")
    return principal


def require_any(principal: StaffPrincipal, permissions: tuple[Permission, ...]) -> None:
    """Raise :class:`NotPermitted` (R19) unless one of ``permissions`` is held."""
    if permissions and not principal.permissions & set(permissions):
        principal.require(permissions[0])


async def journal(request: web.Request, principal: StaffPrincipal, action: str, outcome: str,
                  target: str, detail: str = "",
                  details: Mapping[str, Any] | None = None) -> None:
    """Write one journal entry for ``principal`` (never raises: a failure is logged)."""
    entry = JournalEntry(
        tenant_id=principal.tenant_id, at=request.app[clock_key].now(), action=action,
        outcome=outcome, account_id=principal.account_id, party_id=principal.party_id,
        roles=tuple(sorted(r.value for r in principal.roles)), target=target, detail=detail,
        details=dict(details or {}))
    try:
        await request.app[rules_key].journal.record(entry)
    except Exception:
        log.exception("could not journal %s %s on %s", outcome, action, target)


def staff_endpoint(action: str, *permissions: Permission,
                   ) -> Callable[[StaffHandler], Callable[[web.Request], Awaitable[web.Response]]]:
    """Decorate a staff handler (see the module docstring)."""

    def decorate(handler: StaffHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapper(request: web.Request) -> web.Response:
            principal = await staff_principal(request)
            target = next(iter(request.match_info.values()), "")
            try:
                require_any(principal, permissions)
                answer = await handler(request, principal)
            except PasserelleError as error:
                extra = {"code": error.code, "status": error.status}
                if isinstance(error, NotPermitted) or "rule" in error.extra:
                    extra["rule"] = str(error.extra.get("rule", ""))
                await journal(request, principal, action, DENIED, target, error.detail, extra)
                raise
            await journal(request, principal, action, DONE, answer.target or target,
                          details=answer.details)
            if answer.response is not None:
                return answer.response
            return web.json_response(answer.body, status=answer.status,
                                     headers={"Cache-Control": "no-store"})

        wrapper.__name__ = handler.__name__
        wrapper.__doc__ = handler.__doc__
        return wrapper

    return decorate

"""One answer per authorization request, at the authorization endpoint (docs/oauth.md, "One
answer per request"; the storage side is :mod:`consent.answers`).

The request is known by the digest of its query parameters, less :data:`PAGE_PARAMETERS` (the
page's own settings, which the browser may add while the request is shown). :func:`answering`
opens the transaction of an answer and records it first, so that the consent and the code the
caller then writes in it exist at most once; a request answered already (the form submitted
twice: double click, back and resubmit, two tabs) raises
:class:`~consent.errors.AlreadyAnswered` there, or is found by :func:`is_answered` before any
work. Either way the client is told ``access_denied`` with a description that says why
(:func:`already_answered`): never a second code, and never the first one again (it is stored
hashed, and a code sent twice is a code that can leak twice).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from authlib.oauth2.rfc6749.errors import AccessDeniedError
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.answers import find_answer, record_answer, request_digest
from consent.models import AuthorizationAnswer
from consent.storage import Database
from proxy.oauth.consent_page import Pending
from proxy.oauth.glue import Snapshot, error_redirect

#: Query parameters that are the page's, not the client's: left out of the request's digest.
PAGE_PARAMETERS = frozenset({"lang"})

ANSWERED = "This authorization request was answered already; start again from the app."


def request_hash(snapshot: Snapshot) -> str:
    """The digest that identifies the authorization request ``snapshot`` carries."""
    return request_digest((k, v) for k, v in snapshot.args.items() if k not in PAGE_PARAMETERS)


async def is_answered(db: Database, snapshot: Snapshot) -> bool:
    """True if the request was answered already (a cheap read; :func:`answering` decides)."""
    async with db.session() as session:
        return await find_answer(session, request_hash(snapshot)) is not None


@asynccontextmanager
async def answering(db: Database, pending: Pending, *,
                    approved: bool) -> AsyncIterator[tuple[AsyncSession, AuthorizationAnswer]]:
    """The transaction of ``pending``'s answer, the answer already recorded in it; raises
    :class:`~consent.errors.AlreadyAnswered` (nothing written) if the request has one."""
    async with db.session() as session:
        answer = await record_answer(
            session, tenant_id=pending.client.recipient.tenant_id,
            request_hash=request_hash(pending.snapshot), recipient_id=pending.client.recipient.id,
            account_id=pending.account.id, approved=approved, now=pending.exchange.now)
        yield session, answer


def already_answered(pending: Pending) -> web.Response:
    """``access_denied`` to the client's validated redirect URI, with ``state`` and ``iss``."""
    error = AccessDeniedError(description=ANSWERED, redirect_uri=pending.grant.redirect_uri)
    return error_redirect(error, pending.snapshot.payload.state, pending.server.issuer)

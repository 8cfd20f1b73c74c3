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

How long an answer is kept (:data:`ANSWER_RETENTION`, pruned by :func:`prune_old_answers`
every ``Settings.answer_prune_interval`` seconds). Its row refuses two things: the form
submitted again, and the page shown again. Let ``T`` be the answer's ``created_at``.

* A form is acted on only with the CSRF token of the browser session it was shown in, and only
  while that session is signed in (:mod:`proxy.web.csrf` binds the token to the cookie; a POST
  without a signed-in account is refused). Sessions end :data:`SESSION_LIFETIME` (12 h) after
  sign-in, whatever the activity, and signing in again changes the cookie, hence the token.
* Every form of the request that could still be submitted after ``T`` was shown before ``T``
  (from ``T`` on, the row refuses the page), so in a session signed in before ``T``: that
  session, and the form with it, is dead at ``T + SESSION_LIFETIME`` at the latest.
* The code issued with the answer lives :data:`CODE_TTL` (60 s) and is single use by its own
  row (``oauth_code.used_at``); the answer plays no part there and 60 s is within 12 h anyway.

So no replay of the form can need the row past ``T + max(SESSION_LIFETIME, CODE_TTL)``;
:data:`SAFETY_MARGIN` (12 h) is added for clocks of replicas that disagree (``T`` is the
answering replica's clock, a session's end is checked by another's) and for a session's end
checked at a request that began just before it. Past the bound, the same authorization URL opened
again shows the consent page again: that is a new decision of a signed-in household, creating
a new consent, and not a replay of the old form; a conforming client ignores its redirect,
whose ``state`` it has used already (RFC 6749 §10.12).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from aiohttp import web
from authlib.oauth2.rfc6749.errors import AccessDeniedError
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.answers import find_answer, prune_answers, record_answer, request_digest
from consent.models import AuthorizationAnswer
from consent.storage import Database
from proxy.oauth.consent_page import Pending
from proxy.oauth.glue import Snapshot, error_redirect
from proxy.oauth.grants import CODE_TTL
from proxy.web.session import SESSION_LIFETIME

#: Query parameters that are the page's, not the client's: left out of the request's digest.
PAGE_PARAMETERS = frozenset({"lang"})

ANSWERED = "This authorization request was answered already; start again from the app."

#: Added to the replay window for disagreeing clocks (see the module docstring).
SAFETY_MARGIN = timedelta(hours=12)
#: How long an answer is kept after it was given (see the module docstring): 24 hours.
ANSWER_RETENTION = max(SESSION_LIFETIME, CODE_TTL) + SAFETY_MARGIN


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


async def prune_old_answers(db: Database, now: datetime) -> int:
    """Delete the answers given more than :data:`ANSWER_RETENTION` before ``now`` (an answer
    given exactly that long ago is kept); how many went."""
    return await prune_answers(db, before=now - ANSWER_RETENTION)

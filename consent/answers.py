"""Each authorization request is answered once (docs/oauth.md, "One answer per request").

A consent form submitted twice (a double click, back and resubmit, the same request open in two
tabs) must not create two consents. The request is known by the SHA-256 of its parameters
(:func:`request_digest`): PKCE's ``code_challenge`` and ``state`` are fresh for every request a
client makes (RFC 7636 §4.1, RFC 6749 §10.12), so two different requests never share it, and
the same request sent twice always does.

:func:`record_answer` is the first write of the transaction that then writes the consent and
the code. Its row's UNIQUE ``request_hash`` decides a race on both backends: a second insert
waits for the first transaction (PostgreSQL's unique index, SQLite's single writer), then fails
if it committed, so the second answer raises :class:`~consent.errors.AlreadyAnswered` and its
transaction writes nothing; if the first rolled back (the domain refused the consent), the
second proceeds. :func:`find_answer` is the cheap check made before any work.

A row is needed only while the request it answers can still be submitted or shown again to
someone who could act on it; past that, :func:`prune_answers` deletes it. How long that is
depends on the web layer (its session lifetime), so the caller gives the instant: see
``proxy.oauth.answer_janitor`` for the bound and why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import AlreadyAnswered
from consent.models import AuthorizationAnswer
from consent.storage import Database
from consent.storage.pruning import PRUNE_BATCH, delete_older


def request_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """SHA-256 hex of the request's parameters, whatever their order."""
    canonical = json.dumps(sorted(pairs), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def find_answer(session: AsyncSession, request_hash: str) -> AuthorizationAnswer | None:
    """The answer already given to the request, if any."""
    statement = select(AuthorizationAnswer).where(
        AuthorizationAnswer.request_hash == request_hash)
    return (await session.exec(statement)).first()


async def record_answer(session: AsyncSession, *, tenant_id: str, request_hash: str,
                        recipient_id: str, account_id: str, approved: bool,
                        now: datetime) -> AuthorizationAnswer:
    """Insert the answer (flushed at once, see the module docstring); raise
    :class:`AlreadyAnswered` if the request has one. Set ``consent_id`` on the returned row
    once the consent exists, in the same transaction."""
    answer = AuthorizationAnswer(tenant_id=tenant_id, request_hash=request_hash,
                                 recipient_id=recipient_id, account_id=account_id,
                                 approved=approved, created_at=now)
    session.add(answer)
    try:
        await session.flush()
    except IntegrityError:
        # The row's only other constraints are foreign keys to rows the caller just read.
        raise AlreadyAnswered("This authorization request was answered already.") from None
    return answer


async def prune_answers(db: Database, *, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete every answer created strictly before ``before``, of every tenant, ``batch`` rows
    per transaction, oldest first (by the ``created_at`` index); return how many went
    (:func:`~consent.storage.pruning.delete_older`)."""
    table = AuthorizationAnswer.__table__  # type: ignore[attr-defined]
    return await delete_older(db, table.c.created_at, before, batch=batch)

"""Issuing, finding, rotating and revoking codes, tokens and browser sessions.

Every secret Passerelle hands out comes from :func:`new_secret`: a recognisable prefix (so a
leaked token is easy to spot in logs and by secret scanners) and 256 random bits. Only its
:func:`digest` is stored (see :mod:`consent.models.oauth`).

Single use is enforced by the database, not by a read-then-write: :func:`redeem_code` and
:func:`rotate_refresh` are conditional ``UPDATE ... WHERE used_at IS NULL`` statements, so of two
concurrent redemptions exactly one wins (RFC 9700 §4.5.3, §4.14.2); the loser revokes the family.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.identifiers import PointRef
from consent.lifecycle import ConsentState
from consent.models import Consent, ConsentEvent, ConsentPoint, MeteringPoint
from consent.models.oauth import AuthorizationCode, BrowserSession, OAuthToken, TokenKind

ACCESS_PREFIX = "pas_at_"
REFRESH_PREFIX = "pas_rt_"
CODE_PREFIX = "pas_ac_"
CLIENT_SECRET_PREFIX = "pas_cs_"  # noqa: S105 (a prefix, not a secret)
SESSION_PREFIX = "pas_ss_"
ADMIN_PREFIX = "pas_adm_"
INITIAL_ACCESS_PREFIX = "pas_iat_"


def new_secret(prefix: str) -> str:
    """A fresh secret: ``prefix`` + 43 URL-safe characters (256 bits)."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a high-entropy secret: SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    """Constant-time check of ``secret`` against a stored :func:`digest`."""
    return hmac.compare_digest(digest(secret), stored_digest)


async def find_code(session: AsyncSession, code: str) -> AuthorizationCode | None:
    """The code row whose digest matches ``code`` (used or not: callers check)."""
    result = await session.exec(select(AuthorizationCode)
                                .where(AuthorizationCode.code_hash == digest(code)))
    return result.first()


async def find_token(session: AsyncSession, token: str,
                     kind: TokenKind | None = None) -> OAuthToken | None:
    """The token row whose digest matches ``token`` (revoked or expired too: callers check)."""
    query = select(OAuthToken).where(OAuthToken.token_hash == digest(token))
    if kind is not None:
        query = query.where(OAuthToken.kind == kind)
    return (await session.exec(query)).first()


async def redeem_code(session: AsyncSession, code_id: str, now: datetime) -> bool:
    """Mark the code used; ``False`` if someone used it first (a replay)."""
    result = await session.exec(
        update(AuthorizationCode)
        .where(col(AuthorizationCode.id) == code_id, col(AuthorizationCode.used_at).is_(None))
        .values(used_at=now))
    return bool(result.rowcount == 1)


async def rotate_refresh(session: AsyncSession, token_id: str, now: datetime) -> bool:
    """Mark a refresh token used; ``False`` if it was used or revoked already (a reuse)."""
    result = await session.exec(
        update(OAuthToken)
        .where(col(OAuthToken.id) == token_id, col(OAuthToken.used_at).is_(None),
               col(OAuthToken.revoked_at).is_(None))
        .values(used_at=now))
    return bool(result.rowcount == 1)


async def revoke_family(session: AsyncSession, family_id: str, now: datetime) -> int:
    """Revoke every live token of a family; returns how many were live (:func:`_revoke`)."""
    return await _revoke(session, col(OAuthToken.family_id) == family_id, now)


async def revoke_consent_tokens(session: AsyncSession, consent_id: str, now: datetime) -> int:
    """Revoke every live token bound to a consent (withdrawal, revocation, expiry)."""
    return await _revoke(session, col(OAuthToken.consent_id) == consent_id, now)


async def revoke_recipient_tokens(session: AsyncSession, recipient_id: str,
                                  now: datetime) -> int:
    """Revoke every live token of a recipient (suspended or retired by the operator)."""
    return await _revoke(session, col(OAuthToken.recipient_id) == recipient_id, now)


async def revoke_token(session: AsyncSession, token_id: str, now: datetime) -> int:
    """Revoke one token."""
    return await _revoke(session, col(OAuthToken.id) == token_id, now)


async def _revoke(session: AsyncSession, condition: object, now: datetime) -> int:
    """Revoke the live tokens matching ``condition``.

    A rotation committing meanwhile (:func:`rotate_refresh` marks the old token used and adds
    its successor in one transaction) must not leave the successor live. Under PostgreSQL's
    read committed an ``UPDATE`` waiting for the old token's row lock re-reads that row only,
    never the successor its snapshot predates: so the rows are locked first (in id order, so
    that two revocations never deadlock), which waits for any rotation in flight, and the
    ``UPDATE`` that follows, a statement with a snapshot of its own, sees its successor. A
    rotation starting later finds its token revoked (its ``UPDATE`` waits for ours, then
    matches nothing). Families, consents and recipients alike."""
    live = col(OAuthToken.revoked_at).is_(None)
    await session.exec(select(OAuthToken.id).where(condition, live)  # type: ignore[arg-type]
                       .order_by(col(OAuthToken.id)).with_for_update())
    result = await session.exec(
        update(OAuthToken)
        .where(condition, col(OAuthToken.revoked_at).is_(None))  # type: ignore[arg-type]
        .values(revoked_at=now))
    return int(result.rowcount)


def add_all(session: AsyncSession, rows: Sequence[object]) -> None:
    """Stage new rows (codes, tokens) in the caller's transaction."""
    session.add_all(rows)


async def find_browser_session(session: AsyncSession, cookie: str,
                               now: datetime) -> BrowserSession | None:
    """The live browser session of a cookie value, or ``None``."""
    result = await session.exec(
        select(BrowserSession).where(BrowserSession.token_hash == digest(cookie),
                                     col(BrowserSession.revoked_at).is_(None),
                                     col(BrowserSession.expires_at) > now))
    return result.first()


async def end_browser_session(session: AsyncSession, cookie: str, now: datetime) -> None:
    """Revoke the browser session of a cookie value (logout, login rotation)."""
    await session.exec(
        update(BrowserSession)
        .where(col(BrowserSession.token_hash) == digest(cookie),
               col(BrowserSession.revoked_at).is_(None))
        .values(revoked_at=now))


async def active_consent(session: AsyncSession, consent_id: str,
                         now: datetime) -> tuple[Consent, list[PointRef]] | None:
    """The consent and its points if it is active and within its access period, else ``None``.

    Tokens are revoked when their consent leaves ``active``; this check is the second lock, so
    a token of an ended consent is refused even if its revocation were ever missed.
    """
    consent = await session.get(Consent, consent_id)
    if (consent is None or ConsentState(consent.state) is not ConsentState.ACTIVE
            or not consent.access_period.contains(now)):
        return None
    result = await session.exec(
        select(MeteringPoint).join(ConsentPoint, col(ConsentPoint.point_id) == MeteringPoint.id)
        .where(ConsentPoint.consent_id == consent_id))
    return consent, sorted(point.ref for point in result.all())


#: Leaving ``active`` for one of these ends the consent's tokens at once.
_ENDED = frozenset({ConsentState.WITHDRAWN, ConsentState.REVOKED, ConsentState.EXPIRED,
                    ConsentState.REFUSED})


async def revoke_tokens_of_ended_consent(session: AsyncSession, consent: Consent,
                                         event: ConsentEvent) -> None:
    """Consent hook: when a consent ends (withdrawn, revoked, expired), revoke its tokens in
    the same transaction, so "ended" and "its tokens are dead" are one atomic fact.

    A suspended consent keeps its tokens (a resume brings access back); they are refused while
    it is suspended, because :func:`active_consent` is checked at every use.
    """
    if ConsentState(event.to_state) in _ENDED:
        await revoke_consent_tokens(session, consent.id, event.at)

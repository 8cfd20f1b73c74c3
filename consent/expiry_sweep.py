"""Deleting credentials that can no longer matter: :func:`prune_expired`, run as a background
sweep (``proxy.oauth.setup``, every ``Settings.expired_prune_interval`` seconds).

Every table here holds secrets' digests with an expiry, written per login or per token
response; a row is deleted once its expiry is more than :data:`EXPIRY_MARGIN` in the past
(a row exactly that old is kept), and only if no check could still tell it apart from a row
that never existed. Let ``E`` be the row's ``expires_at`` and ``C = now - EXPIRY_MARGIN``.

* ``browser_session`` (``E`` is absolute, 12 h after sign-in), ``staff_token``,
  ``auditor_token`` (without expiry: never), ``password_reset``: each check asks for
  ``expires_at > now`` (:func:`consent.tokens.find_browser_session`,
  :func:`consent.staff.authenticate_token`, :func:`consent.auditors.find_auditor`,
  :func:`consent.identity.live_reset`), so an expired row and a missing one are both refused
  alike. A revoked row is kept until ``E``: its revocation is refused by its expiry after.
  Nothing references these rows by foreign key; the staff journal and the evidence log name a
  token by its id in text, which stays true of a token that no longer exists.
* ``oauth_token``, access tokens: refused once expired (data API: ``invalid_token``;
  introspection answers ``{"active": false}`` for an expired and for an unknown token alike,
  RFC 7662 §2.2; revocation answers 200 for both, RFC 7009 §2.2). No reuse check reads them.
* ``oauth_token``, refresh tokens: a presented refresh token that was rotated or revoked
  revokes its family (RFC 9700 §4.14.2), expired or not; unknown, it is only refused
  (``invalid_grant``). A refresh token expires ``refresh_idle`` after issue (30 days by
  default; a use issues a new one) and never after its consent, so a copy older than that is
  refused either way: keeping its row would only keep the family revocation its presentation
  triggers, a signal, for as long as the family lives (years: one row per rotation, the largest
  table at scale). So an expired refresh token is deleted like an access token; its family
  loses that signal for copies older than the idle window, and nothing else.
* ``oauth_code``: a code presented again revokes the family it started (RFC 6749 §4.1.2,
  RFC 9700 §4.5.3; the family's id is the code's id), expired or not. An unused code started
  nothing: deleted past ``E`` (60 s after issue), a late presentation is ``invalid_grant``
  either way. A used code is deleted in the transaction that deletes a token of its family
  once that family has no live token left (not revoked, not expired before ``C``): the last
  token of a family goes with its code, so no used code is left behind.

The margin covers replicas whose clocks disagree (NTP keeps them within milliseconds) and a
request that read a row just before its expiry and still runs: an hour is far more than
either. Deletes go :data:`~consent.storage.pruning.PRUNE_BATCH` rows per transaction, oldest
first along an ``expires_at`` index (:func:`~consent.storage.pruning.delete_older`). Deleting
an ``oauth_token`` row drops the replicas' token caches like any write to that table
(:mod:`consent.storage.change_feed`): one invalidation per batch, next to the one every
refresh rotation already makes. Login throttle rows delete themselves as attempts arrive
(:mod:`consent.shared_state.attempts`); admin tokens are lines of a file, without expiry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.auditors import AuditorToken
from consent.models import PasswordReset, StaffToken
from consent.models.oauth import AuthorizationCode, BrowserSession, OAuthToken
from consent.storage import Database
from consent.storage.pruning import PRUNE_BATCH, delete_older

#: How long past its expiry a row is kept (see the module docstring).
EXPIRY_MARGIN = timedelta(hours=1)

_TOKENS: sa.Table = OAuthToken.__table__  # type: ignore[attr-defined]
_CODES: sa.Table = AuthorizationCode.__table__  # type: ignore[attr-defined]
#: Tables whose rows matter until their expiry only (nullable ``expires_at``: never expires).
_PLAIN: tuple[sa.Table, ...] = tuple(
    model.__table__ for model in (BrowserSession, StaffToken, AuditorToken, PasswordReset))  # type: ignore[union-attr]


def _family_live(family_id: sa.ColumnElement[str], cutoff: datetime) -> sa.Exists:
    """True if the family ``family_id`` has a token that is neither revoked nor expired
    before ``cutoff``: one that revoking the family would still stop."""
    other = _TOKENS.alias("live")
    return sa.exists().where(other.c.family_id == family_id, other.c.revoked_at.is_(None),
                             other.c.expires_at >= cutoff)


async def prune_expired(db: Database, now: datetime, *, batch: int = PRUNE_BATCH) -> int:
    """Delete, in every tenant, what the module docstring says can go at ``now``; how many
    rows went."""
    cutoff = now - EXPIRY_MARGIN

    async def codes_of_ended_families(conn: AsyncConnection,
                                      rows: Sequence[sa.Row[Any]]) -> int:
        families = sorted({row.family_id for row in rows})
        result = await conn.execute(sa.delete(_CODES).where(
            _CODES.c.id.in_(families), _CODES.c.expires_at < cutoff,
            sa.not_(_family_live(_CODES.c.id, cutoff))))
        return result.rowcount or 0

    t = _TOKENS.c
    removed = await delete_older(db, t.expires_at, cutoff, batch=batch, extra=(t.family_id,),
                                 then=codes_of_ended_families)
    removed += await delete_older(db, _CODES.c.expires_at, cutoff, batch=batch,
                                  among=_CODES.c.used_at.is_(None))
    for table in _PLAIN:
        removed += await delete_older(db, table.c.expires_at, cutoff, batch=batch)
    return removed

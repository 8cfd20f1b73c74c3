"""What the data API must know about one presented access token, read in one statement.

:func:`load_bearer` reads the token row with its recipient (and, for a consent-bound token, its
consent and the consent's points) by the token's digest, in at most two prepared Core
statements: no ORM objects on the hot path. :class:`BearerRecord` holds only rows, nothing
derived from the instant of the request, so it may be cached (:mod:`consent.snapshots`);
:meth:`BearerRecord.refusal` decides, at each use, whether the token may be used now (R6):
not revoked, not expired, recipient active, consent ``active`` and inside its access period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.identifiers import PointRef, Source
from consent.lifecycle import ConsentState
from consent.models import Consent, ConsentPoint, MeteringPoint, OAuthToken, Recipient
from consent.models.oauth import TokenKind
from consent.models.recipients import RecipientState
from consent.periods import Period
from consent.scopes import parse_scope
from consent.vocabulary import Dataset, Resolution


def _table(model: object) -> sa.Table:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


_TOKEN, _RECIPIENT, _CONSENT = _table(OAuthToken), _table(Recipient), _table(Consent)
_CONSENT_POINT, _POINT = _table(ConsentPoint), _table(MeteringPoint)

# Built once: SQLAlchemy then reuses their compiled form (statement cache) on every call.
_BY_DIGEST = (
    sa.select(_TOKEN.c.id, _TOKEN.c.tenant_id, _TOKEN.c.recipient_id, _TOKEN.c.consent_id,
              _TOKEN.c.account_id, _TOKEN.c.scope, _TOKEN.c.authorization_details,
              _TOKEN.c.expires_at, _TOKEN.c.revoked_at, _RECIPIENT.c.client_id,
              _RECIPIENT.c.state.label("recipient_state"),
              _CONSENT.c.state.label("consent_state"), _CONSENT.c.valid_from,
              _CONSENT.c.valid_until, _CONSENT.c.datasets, _CONSENT.c.max_resolution)
    .select_from(_TOKEN.join(_RECIPIENT, _RECIPIENT.c.id == _TOKEN.c.recipient_id)
                 .outerjoin(_CONSENT, _CONSENT.c.id == _TOKEN.c.consent_id))
    .where(_TOKEN.c.token_hash == sa.bindparam("digest"),
           _TOKEN.c.kind == TokenKind.ACCESS.value))
_CONSENT_POINTS = (
    sa.select(_POINT.c.source, _POINT.c.identifier)
    .select_from(_CONSENT_POINT.join(_POINT, _POINT.c.id == _CONSENT_POINT.c.point_id))
    .where(_CONSENT_POINT.c.consent_id == sa.bindparam("consent")))


@dataclass(frozen=True, slots=True)
class BoundConsent:
    """The consent behind a consent-bound token, as the token check needs it."""

    state: ConsentState
    access: Period
    datasets: frozenset[Dataset]
    max_resolution: Resolution
    points: tuple[PointRef, ...]


@dataclass(frozen=True, slots=True)
class BearerRecord:
    """One access token's rows; see the module docstring."""

    token_id: str
    tenant_id: str
    recipient_id: str
    client_id: str
    recipient_active: bool
    consent_id: str | None
    account_id: str | None
    scope: frozenset[Dataset]
    authorization_details: tuple[dict[str, Any], ...]
    expires_at: datetime
    revoked: bool
    consent: BoundConsent | None

    def refusal(self, now: datetime) -> str | None:
        """Why the token may not be used at ``now``, or ``None`` if it may (R6).

        Tokens are revoked when their consent leaves ``active``; the consent's own state and
        period are checked too, so a token is refused even if its revocation were missed.
        """
        if self.revoked or self.expires_at <= now:
            return "The access token is invalid, expired or revoked."
        if not self.recipient_active:
            return "The access token's client is no longer active."
        if self.consent_id is not None and (
                self.consent is None or self.consent.state is not ConsentState.ACTIVE
                or not self.consent.access.contains(now)):
            return "The consent behind this access token is no longer active."
        return None

    @property
    def datasets(self) -> frozenset[Dataset]:
        """The token's scope cut to its consent's datasets (a narrowed consent shrinks it)."""
        if self.consent is None:
            return self.scope
        return self.scope & self.consent.datasets


async def load_bearer(conn: AsyncConnection, digest: str) -> BearerRecord | None:
    """The access token whose stored digest is ``digest`` (revoked or expired too), or
    ``None`` if there is none."""
    row = (await conn.execute(_BY_DIGEST, {"digest": digest})).first()
    if row is None:
        return None
    consent = None
    if row.consent_id is not None and row.consent_state is not None:
        refs = (await conn.execute(_CONSENT_POINTS, {"consent": row.consent_id})).all()
        consent = BoundConsent(
            state=ConsentState(row.consent_state),
            access=Period(row.valid_from, row.valid_until),
            datasets=frozenset(Dataset(d) for d in row.datasets),
            max_resolution=Resolution(row.max_resolution),
            points=tuple(sorted(PointRef(Source(s), i) for s, i in refs)))
    return BearerRecord(
        token_id=row.id, tenant_id=row.tenant_id, recipient_id=row.recipient_id,
        client_id=row.client_id,
        recipient_active=RecipientState(row.recipient_state) is RecipientState.ACTIVE,
        consent_id=row.consent_id, account_id=row.account_id, scope=parse_scope(row.scope),
        authorization_details=tuple(row.authorization_details or ()),
        expires_at=row.expires_at, revoked=row.revoked_at is not None, consent=consent)

"""Bearer access tokens on the data API: ``raw token in, VerifiedToken out`` (RFC 6750).

The data proxy calls :func:`authenticate_bearer` first thing in a handler::

    token = await authenticate_bearer(request, Dataset.DAILY_CONSUMPTION)
    if token.consent_id is None:      # client credentials: the app names a point per request,
        ...                           # look up its active consent for that point (Data Connect v5)
    elif point not in token.points:
        raise AccessDenied(...)

What it guarantees when it returns: the token came in the ``Authorization`` header (never the
query or body, FAPI 2.0 resource-server rules), it is an access token Passerelle issued, it is
neither expired nor revoked, its recipient is active, and, for a household token, its consent is
``active`` and inside its access period. ``datasets`` is the token scope cut to the consent's
datasets (a consent narrowed later can only shrink it). The rows come from
:class:`~proxy.bearer_tokens.BearerTokens` (memory, dropped on every revocation before the
revoking request returns; elsewhere within a second); the decision is taken here at each use.

What it raises (``proxy.errors``; rendered with a ``WWW-Authenticate: Bearer`` challenge):
:class:`MissingToken` 401 (no credentials), :class:`InvalidBearerRequest` 400 (two
``Authorization`` headers, bad syntax, token in the query), :class:`InvalidToken` 401
(unknown, expired, revoked, consent ended), :class:`InsufficientScope` 403 (a ``required``
dataset is not covered; the challenge names the scope needed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from consent.bearer import BearerRecord
from consent.vocabulary import Dataset
from proxy.errors import InvalidBearerRequest, InvalidToken, MissingToken
from proxy.keys import (
    bearer_generation_key,
    bearer_tokens_key,
    clock_key,
    verified_token_key,
)
from proxy.verified_token import VerifiedToken

__all__ = ["VerifiedToken", "authenticate_bearer", "bearer_value"]

#: RFC 6750 §2.1 ``b64token``, bounded.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{1,512}=*")


def bearer_value(request: web.Request) -> str:
    """The raw token from the one ``Authorization: Bearer`` header (syntax checked only)."""
    if "access_token" in request.query:
        raise InvalidBearerRequest("Send the access token in the Authorization header, never "
                                   "in the URL.")
    headers = request.headers.getall("Authorization", [])
    if not headers:
        raise MissingToken("An access token is required (Authorization: Bearer ...).")
    if len(headers) > 1:
        raise InvalidBearerRequest("Send exactly one Authorization header.")
    scheme, _, value = headers[0].partition(" ")
    if scheme.lower() != "bearer":
        raise MissingToken("Use the Bearer scheme (RFC 6750).")
    value = value.strip(" ")
    if not _B64TOKEN.fullmatch(value):
        raise InvalidBearerRequest("The bearer token is malformed.")
    return value


async def authenticate_bearer(request: web.Request, *required: Dataset) -> VerifiedToken:
    """Verify the request's bearer token, store it under ``request[verified_token_key]``.

    ``required`` datasets must all be covered, else :class:`InsufficientScope` (403).
    """
    # Before the read (SnapshotCache.put's rule): a write heard of during it shows later.
    request[bearer_generation_key] = request.app[bearer_tokens_key].generation()
    record = await _accepted_at(request, request.app[clock_key].now())
    consent = record.consent
    verified = VerifiedToken(
        token_id=record.token_id, client_id=record.client_id, recipient_id=record.recipient_id,
        tenant_id=record.tenant_id, consent_id=record.consent_id, account_id=record.account_id,
        datasets=record.datasets, points=consent.points if consent is not None else (),
        resolution=consent.max_resolution if consent is not None else None,
        expires_at=record.expires_at, authorization_details=record.authorization_details,
    )
    verified.require(*_unique(required))
    request[verified_token_key] = verified
    return verified


@dataclass(frozen=True, slots=True)
class BearerRecheck:
    """Judges the request's bearer token again before data it waited for leaves
    (:meth:`proxy.data.service.DataService.series`): revoked, expired, its recipient
    suspended since :func:`authenticate_bearer` let it in? ``generation`` is the token
    cache's taken before :func:`authenticate_bearer` read the token (:meth:`changed`: a write
    the token depends on was heard of since; ``None``: unknown, always changed)."""

    request: web.Request
    generation: int | None

    @classmethod
    def of(cls, request: web.Request) -> BearerRecheck:
        taken = request.get(bearer_generation_key)
        return cls(request, taken if isinstance(taken, int) else None)

    def changed(self) -> bool:
        """True if a write the token depends on was heard of since, or cannot be known."""
        now = self.request.app[bearer_tokens_key].generation()
        return self.generation is None or now != self.generation

    async def __call__(self, at: datetime) -> None:
        """:class:`InvalidToken` if the token would be refused at ``at``."""
        await _accepted_at(self.request, at)


async def _accepted_at(request: web.Request, at: datetime) -> BearerRecord:
    """The record of the request's bearer token if it is accepted at ``at``, else
    :class:`InvalidToken` (unknown, revoked, expired, recipient not active)."""
    record = await request.app[bearer_tokens_key].find(bearer_value(request))
    if record is None:
        raise InvalidToken("The access token is invalid, expired or revoked.")
    refusal = record.refusal(at)
    if refusal is not None:
        raise InvalidToken(refusal)
    return record


def _unique(datasets: Iterable[Dataset]) -> list[Dataset]:
    return list(dict.fromkeys(datasets))

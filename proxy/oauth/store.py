"""Load an :class:`Exchange` before authlib runs, apply its decisions after (async, one
transaction each way).

Loading reads exactly what the request names: the client (from HTTP Basic or ``client_id``),
the code or the token presented, and the consent behind it (only if still active). Applying
writes in one transaction: the new code, the issued tokens, the code redemption and refresh
rotation as conditional updates (a lost race is a replay: the family is revoked and the tokens
just generated are never stored nor returned), and the revocations authlib asked for.

The back-channel endpoints go through a :class:`TokenEndpointStore`, which makes the common
case cheap: the client comes from memory (:class:`~proxy.oauth.clients.RegisteredClients`,
dropped on every write to recipients), and tokens issued on the client's credentials alone,
plain inserts with nothing to race, are group-committed with the other requests' of the same
moment (:class:`~consent.storage.row_inserts.RowInserts`). A client-credentials request then
reads nothing and shares its commit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import sqlalchemy as sa
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.invalidation import InvalidationBus
from consent.models import OAuthToken
from consent.purposes import ConsentView, Purpose
from consent.scopes import AccessRequest
from consent.storage import Database
from consent.storage.row_inserts import RowInserts
from consent.tokens import (
    active_consent,
    find_code,
    find_token,
    redeem_code,
    revoke_family,
    revoke_token,
    rotate_refresh,
)
from consent.vocabulary import Dataset, Resolution
from proxy.errors import InvalidClient, InvalidGrant, InvalidRequest
from proxy.oauth.clients import RegisteredClients
from proxy.oauth.exchange import CodeRecord, Exchange, Grantee, OAuthClient, TokenRecord
from proxy.oauth.glue import Snapshot
from proxy.oauth.server import token_rows

_TOKENS: sa.Table = OAuthToken.__table__  # type: ignore[attr-defined]


def _values(row: OAuthToken) -> dict[str, Any]:
    """The column values of a new token row (SQLModel fills its defaults at construction)."""
    return {column.key: getattr(row, column.key) for column in _TOKENS.columns}


async def load_grantee(session: AsyncSession, exchange: Exchange, consent_id: str | None,
                       account_id: str | None) -> None:
    """Put the consent ``consent_id`` into the exchange if it is active now."""
    if consent_id is None or account_id is None:
        return
    found = await active_consent(session, consent_id, exchange.now)
    if found is None:
        return
    consent, points = found
    access = AccessRequest(
        datasets=frozenset(Dataset(d) for d in consent.datasets),
        points=tuple(points),
        resolution=Resolution(consent.max_resolution),
        history=timedelta(days=consent.history_days),
        duration=consent.valid_until - consent.valid_from,
        purpose=Purpose(consent.purpose),  # reflected in the token answer as granted
        view=ConsentView(consent.view),
        community=consent.community_id,
    )
    exchange.grantee = Grantee(account_id, consent.id, access, consent.valid_until)


#: The form field that presents a token: the token endpoint's ``refresh_token``, or the
#: ``token`` of revocation and introspection.
Presented = Literal["refresh_token", "token"]


def client_id_of(snapshot: Snapshot) -> str | None:
    """The client a token-endpoint request claims to be; both methods at once is refused."""
    try:
        basic_id, _secret = extract_basic_authorization(snapshot.headers)
    except ValueError:  # base64 of bytes that are not UTF-8 (authlib decodes them)
        raise InvalidClient("The HTTP Basic credentials are not UTF-8 text.") from None
    form_id = snapshot.form.get("client_id")
    # A Basic header counts even with an empty user name ("Basic base64(':x')"); an empty
    # client_secret field is as if omitted (RFC 6749 §3.1: parameters without a value).
    if basic_id is not None and snapshot.form.get("client_secret"):
        raise InvalidRequest("Use one client authentication method, not two (RFC 6749 §2.3).")
    if basic_id and form_id and basic_id != form_id:
        raise InvalidRequest("client_id differs from the authenticated client.")
    return basic_id or form_id


class TokenEndpointStore:
    """What ``/oauth2/token``, ``/revoke`` and ``/introspect`` read and write (module
    docstring). Start with :meth:`start` inside the running loop; :meth:`close` writes what
    is pending."""

    def __init__(self, db: Database, bus: InvalidationBus, *, ttl: float) -> None:
        self.db = db
        self.clients = RegisteredClients(db, bus, ttl=ttl)
        self.inserts = RowInserts(db, _TOKENS)

    def start(self) -> None:
        self.inserts.start()

    async def close(self) -> None:
        await self.inserts.close()
        await self.clients.close()

    async def load(self, exchange: Exchange, snapshot: Snapshot, *,
                   presented_in: Presented = "refresh_token") -> None:
        """Everything the request may need: the client (remembered), the code or token
        presented (never remembered: each is used once or rotates) and its consent.
        ``presented_in``: the form field that presents the token, ``refresh_token`` at the
        token endpoint, ``token`` at revocation and introspection (RFC 7009, RFC 7662)."""
        await self.load_client(exchange, client_id_of(snapshot))
        await load_presented(self.db, exchange, snapshot, presented_in)

    async def load_client(self, exchange: Exchange, client_id: str | None) -> None:
        """Put client ``client_id`` into the exchange if it is registered (in any state:
        authlib's hooks refuse one that is not active)."""
        recipient = await self.clients.find(client_id)
        if client_id is not None and recipient is not None:
            exchange.clients[client_id] = OAuthClient(recipient)

    async def apply(self, exchange: Exchange) -> None:
        """Write what authlib decided; raise :class:`InvalidGrant` if a replay raced us."""
        if exchange.issues_only and not exchange.issued:
            return  # nothing to write: an introspection, an error answer
        if exchange.issues_only:
            await self.inserts.insert([_values(row) for issued in exchange.issued
                                       for row in token_rows(issued, None, exchange.now,
                                                            exchange.refresh_idle)])
            return
        await apply(self.db, exchange)


async def load_presented(db: Database, exchange: Exchange, snapshot: Snapshot,
                         presented_in: Presented = "refresh_token") -> None:
    """Put the code or the token (form field ``presented_in``) the request presents, and its
    active consent, into the exchange (clients are already there); read nothing if it presents
    neither. Only the endpoint's own field counts: another one sent along (a
    ``refresh_token`` beside the ``token`` to revoke) is ignored (RFC 6749 §3.2), never
    looked up in its place."""
    form = snapshot.form
    wants_code = form.get("grant_type") == "authorization_code" and form.get("code")
    presented = (form.get(presented_in) if presented_in == "token"
                 or form.get("grant_type") == "refresh_token" else None)
    if not (wants_code or presented):
        return
    async with db.session() as session:
        if wants_code:
            code = await find_code(session, form["code"])
            if code is not None:
                exchange.code = CodeRecord(code)
                await load_grantee(session, exchange, code.consent_id, code.account_id)
        if presented:
            token = await find_token(session, presented)
            if token is not None:
                client = next((c for c in exchange.clients.values()
                               if c.recipient.id == token.recipient_id), None)
                exchange.token = TokenRecord(token, client, exchange.now)
                await load_grantee(session, exchange, token.consent_id, token.account_id)


async def apply(db: Database, exchange: Exchange) -> None:
    """Write what authlib decided in one ORM transaction; raise :class:`InvalidGrant` if a
    replay raced us."""
    async with db.session() as session:
        replayed = await apply_in(session, exchange)
    if replayed:
        raise InvalidGrant("This grant was already used; every token it gave is revoked.")


async def apply_in(session: AsyncSession, exchange: Exchange) -> bool:
    """:func:`apply` inside the caller's transaction; True if a replay raced us (the family
    is then revoked and no token written: the caller raises)."""
    now = exchange.now
    replayed = False
    if exchange.new_code is not None:
        session.add(exchange.new_code)
    family: str | None = None
    if exchange.redeemed is not None:
        family = exchange.redeemed.row.id
        if not await redeem_code(session, family, now):
            exchange.families_to_revoke.add(family)
            replayed = True
    if exchange.rotated is not None:
        family = exchange.rotated.row.family_id
        if not await rotate_refresh(session, exchange.rotated.row.id, now):
            exchange.families_to_revoke.add(family)
            replayed = True
    if not replayed:
        for issued in exchange.issued:
            session.add_all(token_rows(
                issued, family, now, exchange.refresh_idle,
                exchange.rotated.row if exchange.rotated is not None else None))
    if exchange.revoked is not None:
        row = exchange.revoked.row
        if exchange.revoked.is_refresh:
            await revoke_family(session, row.family_id, now)
        else:
            await revoke_token(session, row.id, now)
    for family_id in exchange.families_to_revoke:
        await revoke_family(session, family_id, now)
    return replayed

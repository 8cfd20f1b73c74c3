"""Registering the things consents are about: parties, accounts, recipients, points,
occupancies and upstream authorisations.

These functions work inside the caller's session (the demo seed writes everything in one
transaction) and take ``now`` from the caller's clock. They validate like the transitions do:
typed errors, and the caller's transaction rolls back, so nothing is written on failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.accounts import hash_password_async
from consent.client_secrets import hash_client_secret, new_client_id, new_client_secret
from consent.errors import Conflict, DomainError, InvalidPeriod
from consent.identifiers import PointRef, Source
from consent.models import (
    DEFAULT_TIMEZONES,
    Account,
    AccountRole,
    MeteringPoint,
    Occupancy,
    Party,
    PartyKind,
    Recipient,
    UpstreamAuthorisation,
    new_id,
)
from consent.periods import Period
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services.base import flush_unique
from consent.services.point_lock import lock_point
from consent.services.web_addresses import check_email, check_redirect_uri, check_web_url
from consent.supplier_codes import validate_supplier_code
from consent.upstream import UpstreamKind, UpstreamState
from consent.vocabulary import Dataset, Direction, Energy

#: Which energies each source meters (Enedis: electricity, GRDF: gas, EAN: both).
SOURCE_ENERGIES = {
    Source.ENEDIS: {Energy.ELECTRICITY},
    Source.GRDF: {Energy.GAS},
    Source.BE_EAN: {Energy.ELECTRICITY, Energy.GAS},
    Source.INHOUSE: {Energy.ELECTRICITY, Energy.GAS},
}


async def add_party(session: AsyncSession, *, tenant_id: str, kind: PartyKind, name: str,
                    now: datetime, email: str | None = None, external_ref: str | None = None,
                    member_of_id: str | None = None, party_id: str | None = None) -> Party:
    """A new party."""
    if not name.strip():
        raise DomainError("A party needs a name.", field="name")
    party = Party(id=party_id or new_id(), tenant_id=tenant_id, kind=kind, name=name.strip(),
                  email=email, external_ref=external_ref, member_of_id=member_of_id,
                  created_at=now)
    session.add(party)
    await session.flush()
    return party


async def add_account(session: AsyncSession, *, tenant_id: str, username: str, password: str,
                      party_id: str, roles: Sequence[AccountRole | str], now: datetime,
                      account_id: str | None = None) -> Account:
    """A local login with an argon2id hash of ``password``; usernames are unique per tenant."""
    username = username.strip()
    if not 1 <= len(username) <= 150 or any(c.isspace() for c in username):
        raise DomainError("A username has 1 to 150 characters and no spaces.", field="username")
    parsed = [AccountRole(r) for r in roles]
    if not parsed:
        raise DomainError("An account needs at least one role.", field="roles")
    taken = Conflict(f"The username {username!r} is taken.", field="username")
    if (await session.exec(select(Account.id).where(
            Account.tenant_id == tenant_id, Account.username == username))).first() is not None:
        raise taken
    account = Account(id=account_id or new_id(), tenant_id=tenant_id, username=username,
                      password_hash=await hash_password_async(password), party_id=party_id,
                      roles=[r.value for r in parsed], password_changed_at=now, created_at=now)
    session.add(account)
    await flush_unique(session, taken)
    return account


@dataclass(frozen=True, slots=True)
class RecipientDraft:
    """What an operator registers about a recipient app (R5, R21)."""

    name: str
    website: str
    contact_email: str
    purposes: Sequence[Purpose | str]
    legal_basis: LegalBasis | str
    data_role: DataRole | str
    allowed_datasets: Sequence[Dataset | str]
    redirect_uris: Sequence[str]
    is_supplier: bool = False
    #: A supplier's code as DSOs report it (a GLN, an EIC, the DSO's own code:
    #: :mod:`consent.supplier_codes`): required of a supplier, unique in its tenant, what the
    #: upstream's supply contracts are matched on (R13).
    supplier_code: str | None = None
    #: Register the app for an existing organisation (a CPAS, a PMO organiser, a supplier that
    #: also holds mandates) instead of creating its party: reads under that organisation's
    #: mandates then go through this app (R10, R11).
    party_id: str | None = None
    logo_url: str | None = None
    client_id: str | None = None  # given only by the deterministic demo
    client_secret: str | None = None  # idem; otherwise generated and returned once


async def register_recipient(session: AsyncSession, draft: RecipientDraft, *, tenant_id: str,
                             now: datetime) -> tuple[Recipient, str]:
    """Register a recipient and its organisation party; return it with its client secret,
    which is not stored (only its hash is) and must be handed over now. Its redirect URIs,
    website, logo and contact address are checked (:mod:`consent.services.web_addresses`);
    purposes, datasets and redirect URIs repeated are kept once."""
    purposes = [Purpose.parse(str(p)) for p in draft.purposes]
    datasets = [Dataset.parse(str(d)) for d in draft.allowed_datasets]
    if not purposes or not datasets or not draft.redirect_uris:
        raise DomainError("A recipient declares purposes, datasets and redirect URIs.",
                          field="recipient")
    # Listed once each, in the order given (a purpose twice would be shown twice).
    purposes, datasets = list(dict.fromkeys(purposes)), list(dict.fromkeys(datasets))
    uris = list(dict.fromkeys(check_redirect_uri(u) for u in draft.redirect_uris))
    check_web_url(draft.website, "website")
    if draft.logo_url is not None:
        check_web_url(draft.logo_url, "logo_url")
    if draft.contact_email:
        check_email(draft.contact_email, "contact_email")
    supplier_code = await check_supplier_code(session, tenant_id, draft)
    client_id = draft.client_id or new_client_id()
    clash = await session.exec(select(Recipient.id).where(Recipient.client_id == client_id))
    if clash.first() is not None:
        raise Conflict(f"The client id {client_id!r} is taken.", field="client_id")
    if draft.party_id is not None:
        party = await session.get(Party, draft.party_id)
        if party is None or party.tenant_id != tenant_id:
            raise DomainError("No organisation with this id here.", field="party_id")
    else:
        party = await add_party(session, tenant_id=tenant_id, kind=PartyKind.RECIPIENT,
                                name=draft.name, email=draft.contact_email, now=now)
    secret = draft.client_secret or new_client_secret()
    recipient = Recipient(
        tenant_id=tenant_id, party_id=party.id, name=draft.name.strip(), website=draft.website,
        logo_url=draft.logo_url, contact_email=draft.contact_email,
        purposes=[p.value for p in purposes], legal_basis=LegalBasis.parse(str(draft.legal_basis)),
        data_role=DataRole.parse(str(draft.data_role)), is_supplier=draft.is_supplier,
        supplier_code=supplier_code,
        allowed_datasets=[d.value for d in datasets], redirect_uris=uris, client_id=client_id,
        client_secret_hash=hash_client_secret(secret), created_at=now, updated_at=now)
    session.add(recipient)
    if supplier_code is None:
        await session.flush()
    else:  # two registrations of one code at once: the unique index refuses the second
        await flush_unique(session, _code_taken(supplier_code))
    return recipient, secret


async def check_supplier_code(session: AsyncSession, tenant_id: str,
                              draft: RecipientDraft) -> str | None:
    """The draft's supplier code, validated: a supplier has one (its contracts are matched on
    nothing else, R13), another recipient has none, and no other supplier of the tenant holds
    it (:class:`Conflict`; the unique index backs this against a concurrent registration)."""
    if not draft.is_supplier:
        if draft.supplier_code is not None:
            raise DomainError("Only a supplier has a supplier code.", field="supplier_code")
        return None
    if draft.supplier_code is None:
        raise DomainError("A supplier is registered with its code as DSOs report it (GLN or "
                          "the DSO's code, R13).", field="supplier_code")
    code = validate_supplier_code(draft.supplier_code)
    await _check_code_free(session, tenant_id, code)
    return code


async def change_supplier_code(session: AsyncSession, recipient: Recipient, code: object, *,
                               now: datetime) -> None:
    """Set or change ``recipient``'s supplier code, checked as at registration (a supplier
    registered before codes were kept, or whose code the DSO changed). Contracts already
    recorded keep the supplier; the next reports are matched on the new code (R13)."""
    if not recipient.is_supplier:
        raise DomainError("Only a supplier has a supplier code.", field="supplier_code")
    checked = validate_supplier_code(code)
    if checked == recipient.supplier_code:
        return
    await _check_code_free(session, recipient.tenant_id, checked)
    recipient.supplier_code, recipient.updated_at = checked, now
    session.add(recipient)
    await flush_unique(session, _code_taken(checked))


async def _check_code_free(session: AsyncSession, tenant_id: str, code: str) -> None:
    if (await session.exec(select(Recipient.id).where(
            Recipient.tenant_id == tenant_id, Recipient.supplier_code == code))).first():
        raise _code_taken(code)


def _code_taken(code: str) -> Conflict:
    return Conflict(f"Another supplier is registered with the code {code!r}.",
                    field="supplier_code")


async def add_point(session: AsyncSession, *, tenant_id: str, ref: PointRef, energy: Energy,
                    directions: Sequence[Direction], now: datetime, timezone: str | None = None,
                    point_id: str | None = None) -> MeteringPoint:
    """Register a metering point (unique per tenant by source and identifier)."""
    point = new_point(tenant_id=tenant_id, ref=ref, energy=energy, directions=directions,
                      now=now, timezone=timezone, point_id=point_id)
    taken = Conflict(f"The point {ref} is already registered.", field="point")
    if (await session.exec(select(MeteringPoint.id).where(
            MeteringPoint.tenant_id == tenant_id, MeteringPoint.source == ref.source,
            MeteringPoint.identifier == ref.identifier))).first() is not None:
        raise taken
    session.add(point)
    await flush_unique(session, taken)
    return point


def new_point(*, tenant_id: str, ref: PointRef, energy: Energy, directions: Sequence[Direction],
              now: datetime, timezone: str | None = None,
              point_id: str | None = None) -> MeteringPoint:
    """The row :func:`add_point` inserts, checked (not added to any session)."""
    if energy not in SOURCE_ENERGIES[ref.source]:
        raise DomainError(f"A {ref.source.value} point cannot meter {energy.value}.",
                          field="energy")
    if not directions:
        raise DomainError("A point meters consumption, production or both.", field="directions")
    if energy is Energy.GAS and Direction.PRODUCTION in directions:
        raise DomainError("Gas points are consumption points here.", field="directions")
    zone = timezone or DEFAULT_TIMEZONES[ref.source]
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(f"Unknown time zone {zone!r}.", field="timezone") from None
    return MeteringPoint(id=point_id or new_id(), tenant_id=tenant_id, source=ref.source,
                         identifier=ref.identifier, energy=energy,
                         directions=[d.value for d in dict.fromkeys(directions)],
                         timezone=zone, created_at=now)


async def add_occupancy(session: AsyncSession, *, tenant_id: str, point_id: str,
                        household_id: str, starts_at: datetime, ends_at: datetime | None,
                        now: datetime) -> Occupancy:
    """Record that a household occupies a point over ``[starts_at, ends_at)``; refuses an
    overlap with another occupancy of the point (one client at a time, R8)."""
    period = Period(starts_at, ends_at)
    await lock_point(session, point_id)
    others = await session.exec(select(Occupancy).where(Occupancy.point_id == point_id))
    for other in others.all():
        if other.period.intersection(period) is not None:
            raise InvalidPeriod("This occupancy overlaps another one of the same point "
                                f"(from {other.starts_at.isoformat()}).", field="starts_at")
    occupancy = Occupancy(tenant_id=tenant_id, point_id=point_id, household_id=household_id,
                          starts_at=starts_at, ends_at=ends_at, created_at=now)
    session.add(occupancy)
    await session.flush()
    return occupancy


async def add_upstream_authorisation(
    session: AsyncSession, *, tenant_id: str, point: MeteringPoint, upstream_id: str,
    valid_from: datetime, valid_until: datetime | None, state: UpstreamState, now: datetime,
    household_id: str | None = None,
) -> UpstreamAuthorisation:
    """Record what the operator holds at the DSO for ``point``."""
    Period(valid_from, valid_until)
    if not upstream_id.strip():
        raise DomainError("An upstream authorisation has the DSO's id.", field="upstream_id")
    authorisation = UpstreamAuthorisation(
        tenant_id=tenant_id, point_id=point.id, household_id=household_id,
        kind=UpstreamKind.for_source(Source(point.source)), upstream_id=upstream_id,
        valid_from=valid_from, valid_until=valid_until, state=state, last_checked_at=now,
        created_at=now, updated_at=now)
    session.add(authorisation)
    await session.flush()
    return authorisation


async def tenant_is_empty(session: AsyncSession, tenant_id: str) -> bool:
    """True if ``tenant_id`` has no party yet (the demo seed only fills an empty tenant)."""
    result = await session.exec(select(Party.id).where(Party.tenant_id == tenant_id).limit(1))
    return result.first() is None

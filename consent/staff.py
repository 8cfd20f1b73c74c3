"""Operator staff and mandatary workers: who they are, what each role may do, their tokens (R19).

A :class:`StaffPrincipal` is an authenticated account of one tenant with its roles. What a
role permits is the table :data:`ROLE_PERMISSIONS` (least privilege: no role implies another,
and none reads meter data: data only ever goes to recipients, under a consent or a mandate):

==================  ===========================================================================
operator_admin      enter paper mandates and suspend/revoke them, record move-outs and supply
                    contracts, run communities, ask for and approve privileged actions,
                    erase a household on its request (R23, GDPR art. 17)
reviewer            review proofs: approve or refuse mandates and consents under review
support             see a household's consents and mandates (never its meter data)
auditor             read the staff journal and consents; never writes
mandatary           a worker of a mandatary organisation (a CPAS): ask for mandates naming it
==================  ===========================================================================

Staff API credentials are ``pas_stf_...`` tokens bound to one account (:func:`issue_token`),
stored as a SHA-256 digest, valid :data:`STAFF_TOKEN_TTL` at most, refused once the account is
disabled or loses every staff role.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import NotPermitted
from consent.evidence.records import Authentication
from consent.lifecycle import ActorRole
from consent.models import Account, AccountRole, Channel, StaffToken
from consent.services.base import Actor
from consent.tokens import digest, new_secret

STAFF_PREFIX = "pas_stf_"
STAFF_TOKEN_TTL = timedelta(hours=12)


class Permission(StrEnum):
    """Something a staff member may do."""

    REVIEW = "review"
    VIEW_CONSENTS = "view_consents"
    MANAGE_MANDATES = "manage_mandates"
    MANAGE_OCCUPANCY = "manage_occupancy"
    MANAGE_COMMUNITIES = "manage_communities"
    REQUEST_PRIVILEGED = "request_privileged"
    APPROVE_PRIVILEGED = "approve_privileged"
    READ_JOURNAL = "read_journal"
    ACT_AS_MANDATARY = "act_as_mandatary"
    #: Erase a household (R23): its own permission, so that no role that merely sees
    #: households (support, auditor) can, and a role may be given it or not on its own.
    ERASE_HOUSEHOLDS = "erase_households"


_P = Permission
ROLE_PERMISSIONS: dict[AccountRole, frozenset[Permission]] = {
    AccountRole.OPERATOR_ADMIN: frozenset({
        _P.MANAGE_MANDATES, _P.MANAGE_OCCUPANCY, _P.MANAGE_COMMUNITIES, _P.VIEW_CONSENTS,
        _P.REQUEST_PRIVILEGED, _P.APPROVE_PRIVILEGED, _P.ERASE_HOUSEHOLDS}),
    AccountRole.REVIEWER: frozenset({_P.REVIEW}),
    AccountRole.SUPPORT: frozenset({_P.VIEW_CONSENTS}),
    AccountRole.AUDITOR: frozenset({_P.READ_JOURNAL, _P.VIEW_CONSENTS}),
    AccountRole.MANDATARY: frozenset({_P.ACT_AS_MANDATARY}),
    AccountRole.HOUSEHOLD: frozenset(),
}

#: The role in which a permission acts on consents and mandates (lifecycle roles).
ACTOR_ROLE: dict[Permission, ActorRole] = {
    _P.REVIEW: ActorRole.REVIEWER,
    _P.MANAGE_MANDATES: ActorRole.OPERATOR,
    _P.MANAGE_OCCUPANCY: ActorRole.OPERATOR,
    _P.MANAGE_COMMUNITIES: ActorRole.OPERATOR,
    _P.APPROVE_PRIVILEGED: ActorRole.OPERATOR,
    _P.ACT_AS_MANDATARY: ActorRole.MANDATARY,
}


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """An authenticated staff account: its tenant, party and roles."""

    account_id: str
    party_id: str
    tenant_id: str
    username: str
    roles: frozenset[AccountRole]
    #: When its staff token was checked (``None``: not authenticated by a token here).
    authenticated_at: datetime | None = None

    @classmethod
    def of(cls, account: Account) -> StaffPrincipal:
        """The principal of an enabled account (roles as stored)."""
        return cls(account.id, account.party_id, account.tenant_id, account.username,
                   frozenset(AccountRole(r) for r in account.roles if not account.disabled))

    @property
    def permissions(self) -> frozenset[Permission]:
        """Everything the roles permit together."""
        return frozenset().union(*(ROLE_PERMISSIONS.get(r, frozenset()) for r in self.roles))

    def require(self, permission: Permission) -> None:
        """Raise :class:`NotPermitted` (rule R19) unless a role permits ``permission``."""
        if permission not in self.permissions:
            held = ", ".join(sorted(r.value for r in self.roles)) or "none"
            raise NotPermitted(f"Your roles ({held}) do not allow {permission.value} (R19: "
                               "least privilege).", rule="R19", permission=permission.value)

    def actor(self, permission: Permission, channel: Channel = Channel.API) -> Actor:
        """The lifecycle actor this principal is when using ``permission`` (checked)."""
        self.require(permission)
        authentication = None
        if self.authenticated_at is not None:  # for the signed records (R15)
            authentication = Authentication("staff_token", self.username, self.authenticated_at)
        return Actor(ACTOR_ROLE.get(permission, ActorRole.OPERATOR), party_id=self.party_id,
                     account_id=self.account_id, channel=channel, tenant_id=self.tenant_id,
                     authentication=authentication)


def is_staff(account: Account) -> bool:
    """True if the account holds a role with at least one permission."""
    return bool(StaffPrincipal.of(account).permissions)


async def issue_token(session: AsyncSession, account: Account, now: datetime,
                      ttl: timedelta = STAFF_TOKEN_TTL) -> str:
    """A new staff token for ``account`` (returned once; only its digest is kept)."""
    return (await mint_token(session, account, now, ttl))[0]


async def mint_token(session: AsyncSession, account: Account, now: datetime,
                     ttl: timedelta = STAFF_TOKEN_TTL) -> tuple[str, StaffToken]:
    """:func:`issue_token`, with the stored row (its random ``id`` and ``expires_at`` name the
    token in records; its ``token_hash`` must never be recorded)."""
    if not is_staff(account):
        raise NotPermitted("Only staff accounts receive staff API tokens.", field="account")
    raw = new_secret(STAFF_PREFIX)
    row = StaffToken(tenant_id=account.tenant_id, token_hash=digest(raw), account_id=account.id,
                     created_at=now, expires_at=now + min(ttl, STAFF_TOKEN_TTL))
    session.add(row)
    await session.flush()
    return raw, row


async def authenticate_token(session: AsyncSession, raw: str,
                             now: datetime) -> StaffPrincipal | None:
    """The principal of a live staff token, or ``None`` (unknown, expired, revoked, the
    account disabled or no longer staff)."""
    if not raw.startswith(STAFF_PREFIX):
        return None
    row = (await session.exec(select(StaffToken).where(
        StaffToken.token_hash == digest(raw), col(StaffToken.revoked_at).is_(None),
        col(StaffToken.expires_at) > now))).first()
    if row is None:
        return None
    account = await session.get(Account, row.account_id)
    if account is None or account.tenant_id != row.tenant_id or not is_staff(account):
        return None
    return replace(StaffPrincipal.of(account), authenticated_at=now)

"""Auditor credentials for the audit API: bearer tokens bound to an auditor account, with a
scope (R19 least privilege, R24 tenant walls).

A regulator or internal auditor has a local :class:`~consent.models.Account` with the role
``auditor``. The operator mints a token for it (``passerelle auditor-token create --account
<username>``); the token is shown once, only its SHA-256 is stored (:mod:`consent.tokens`). Its
``tenant_scope`` is the account's tenant, or ``None`` for a regulator who sees every tenant
(``--all-tenants``). A token works only while its account exists, is not disabled and still
holds the ``auditor`` role, and until it is revoked or expires: removing the role is enough to
cut an auditor off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import update
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import NotFound, NotPermitted
from consent.models import Account, AccountRole
from consent.models.base import Created, TenantScoped, id_field, instant_field, ref_field
from consent.tokens import digest, new_secret

AUDITOR_PREFIX = "pas_aud_"


class AuditorToken(TenantScoped, Created, table=True):
    """One auditor bearer token (its digest); ``tenant_scope`` ``None`` means every tenant."""

    __tablename__ = "auditor_token"
    __table_args__ = (sa.Index("ix_auditor_token_expires_at", "expires_at"),)

    id: str = id_field()
    token_hash: str = Field(max_length=64, unique=True)
    account_id: str = ref_field("account.id")
    tenant_scope: str | None = Field(default=None, max_length=64)
    expires_at: datetime | None = instant_field(nullable=True)
    revoked_at: datetime | None = instant_field(nullable=True)


@dataclass(frozen=True, slots=True)
class Auditor:
    """An authenticated auditor: who (for the logs) and what it may see."""

    token_id: str
    account_id: str
    username: str
    tenant_scope: str | None

    @property
    def actor(self) -> str:
        """How the evidence log names this auditor."""
        return f"auditor:{self.username}"

    def sees(self, tenant: str | None) -> bool:
        """True if entries of ``tenant`` are within this auditor's scope."""
        return self.tenant_scope is None or tenant == self.tenant_scope


async def issue_auditor_token(session: AsyncSession, *, username: str, tenant_id: str,
                              all_tenants: bool, now: datetime,
                              expires_at: datetime | None = None) -> tuple[AuditorToken, str]:
    """A new token for the auditor account ``username`` of ``tenant_id``; returns the row and
    the raw token (shown once). The account must hold the ``auditor`` role."""
    account = (await session.exec(select(Account).where(
        Account.tenant_id == tenant_id, Account.username == username))).first()
    if account is None:
        raise NotFound(f"No account {username!r} in tenant {tenant_id!r}.", field="account")
    if not account.has_role(AccountRole.AUDITOR):
        raise NotPermitted(f"The account {username!r} does not hold the auditor role.",
                           field="account")
    raw = new_secret(AUDITOR_PREFIX)
    row = AuditorToken(tenant_id=tenant_id, token_hash=digest(raw), account_id=account.id,
                       tenant_scope=None if all_tenants else tenant_id, expires_at=expires_at,
                       created_at=now)
    session.add(row)
    await session.flush()
    return row, raw


async def find_auditor(session: AsyncSession, raw: str, now: datetime) -> Auditor | None:
    """The auditor behind ``raw``, if the token is live and its account still an auditor."""
    found = (await session.exec(
        select(AuditorToken, Account).join(Account, col(Account.id) == AuditorToken.account_id)
        .where(AuditorToken.token_hash == digest(raw)))).first()
    if found is None:
        return None
    token, account = found
    if (token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now)
            or not account.has_role(AccountRole.AUDITOR)):
        return None
    return Auditor(token.id, account.id, account.username, token.tenant_scope)


async def revoke_auditor_tokens(session: AsyncSession, account_id: str, now: datetime) -> int:
    """Revoke every live token of an auditor account; return how many."""
    result = await session.exec(
        update(AuditorToken).where(col(AuditorToken.account_id) == account_id,
                                   col(AuditorToken.revoked_at).is_(None))
        .values(revoked_at=now))
    return int(result.rowcount)

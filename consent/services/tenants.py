"""Tenants: walled areas of one platform (R24). Created only through a privileged request
(:mod:`consent.services.privileged`), never directly by one person."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import Conflict, DomainError
from consent.models import Tenant
from consent.services.base import flush_unique

_TENANT_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


def check_tenant_id(tenant_id: str) -> str:
    """A tenant id: 2 to 63 lower-case letters, digits and dashes, not starting with a dash."""
    if not _TENANT_ID.fullmatch(tenant_id):
        raise DomainError("A tenant id has 2 to 63 lower-case letters, digits or dashes.",
                          field="tenant_id")
    return tenant_id


async def create_tenant(session: AsyncSession, tenant_id: str, name: str,
                        now: datetime) -> Tenant:
    """A new, empty tenant; :class:`Conflict` if the id is taken."""
    check_tenant_id(tenant_id)
    if not name.strip() or len(name) > 200:
        raise DomainError("A tenant needs a name (at most 200 characters).", field="name")
    taken = Conflict(f"The tenant {tenant_id!r} exists.", field="tenant_id")
    if await session.get(Tenant, tenant_id) is not None:
        raise taken
    tenant = Tenant(id=tenant_id, name=name.strip(), created_at=now)
    session.add(tenant)
    await flush_unique(session, taken)
    return tenant

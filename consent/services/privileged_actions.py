"""The privileged actions Passerelle itself carries out once approved (see
:mod:`consent.services.privileged`): creating a tenant (R24) and changing a household's consent
by hand. Key rotation needs the proxy's resources and is registered there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consent.clock import Clock
from consent.errors import Conflict, DomainError
from consent.lifecycle import ActorRole, ConsentAction
from consent.models import Channel, PrivilegedKind, PrivilegedRequest, Tenant
from consent.services.base import Actor
from consent.services.consents import ConsentService
from consent.services.tenants import check_tenant_id, create_tenant
from consent.staff import StaffPrincipal
from consent.storage import Database


def text_param(params: Mapping[str, Any], name: str, limit: int = 200) -> str:
    """The string parameter ``name``, stripped, or a :class:`DomainError`."""
    value = params.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise DomainError(f"{name} must be a non-empty string of at most {limit} characters.",
                          field=name)
    return value.strip()


class TenantCreation:
    """``create_tenant``: ``{"tenant_id": "...", "name": "..."}`` (R24)."""

    kind = PrivilegedKind.CREATE_TENANT

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def check(self, tenant_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        new_id = check_tenant_id(text_param(params, "tenant_id", 63))
        async with self.db.session() as session:
            if await session.get(Tenant, new_id) is not None:
                raise Conflict(f"The tenant {new_id!r} exists.", field="tenant_id")
        return {"tenant_id": new_id, "name": text_param(params, "name")}

    async def execute(self, request: PrivilegedRequest, approver: StaffPrincipal,
                      ) -> dict[str, Any]:
        async with self.db.session() as session:
            tenant = await create_tenant(session, request.params["tenant_id"],
                                         request.params["name"], self.clock.now())
        return {"tenant_id": tenant.id}


_CONSENT_ACTIONS = {"revoke": ConsentAction.REVOKE, "suspend": ConsentAction.SUSPEND,
                    "resume": ConsentAction.RESUME}


class ConsentChange:
    """``consent_change``: ``{"consent_id": "...", "action": "revoke|suspend|resume"}``: an
    operator changes a household's consent by hand. Recorded with the requester as actor and
    the approver in the reason."""

    kind = PrivilegedKind.CONSENT_CHANGE

    def __init__(self, consents: ConsentService) -> None:
        self.consents = consents

    async def check(self, tenant_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        action = text_param(params, "action", 16)
        if action not in _CONSENT_ACTIONS:
            raise DomainError("action is revoke, suspend or resume.", field="action",
                              allowed=sorted(_CONSENT_ACTIONS))
        consent = await self.consents.get(tenant_id, text_param(params, "consent_id", 64))
        return {"consent_id": consent.id, "action": action}

    async def execute(self, request: PrivilegedRequest, approver: StaffPrincipal,
                      ) -> dict[str, Any]:
        actor = Actor(ActorRole.OPERATOR, party_id=request.requested_party,
                      account_id=request.requested_by, channel=Channel.API,
                      tenant_id=request.tenant_id)
        why = (f"manual change, privileged request {request.id} approved by "
               f"{approver.username}: {request.reason}")[:500]
        action = _CONSENT_ACTIONS[request.params["action"]]
        method = {ConsentAction.REVOKE: self.consents.revoke,
                  ConsentAction.SUSPEND: self.consents.suspend,
                  ConsentAction.RESUME: self.consents.resume}[action]
        transition = await method(actor, request.params["consent_id"], reason=why)
        return {"consent_id": transition.row.id, "state": str(transition.row.state),
                "event_id": transition.event.id}

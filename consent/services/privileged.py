"""Privileged actions need a second person's approval (R19 "privileged access needs a specific
approval").

A privileged action (key rotation, manual change of a household's consent, tenant creation) is
first *requested* by an operator admin: a :class:`~consent.models.PrivilegedRequest` in state
``pending``, with its parameters checked at once. Another operator admin, under a different
account *and* a different person, approves it (``pending -> approved``, a version-checked
update, so two racing approvals cannot both run it); it then runs, and ends ``executed`` with
its outcome or ``failed`` with the error. Or it is rejected. Self-approval is refused with rule
``R19``. Actions that concern the whole platform (tenants, instance keys) are only for the
operator of the default tenant.

Each kind is carried out by an :class:`Executor`; the proxy registers the ones that need its
resources (key rotation).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select

from consent.clock import Clock
from consent.errors import (
    ConcurrentUpdate,
    DomainError,
    IllegalTransition,
    NotPermitted,
    PasserelleError,
)
from consent.models import DEFAULT_TENANT, ApprovalState, PrivilegedKind, PrivilegedRequest
from consent.services.queries import get_row
from consent.staff import Permission, StaffPrincipal
from consent.storage import Database

log = logging.getLogger("passerelle.privileged")

#: Kinds that act on the whole platform: only the default tenant's operator may ask for them.
PLATFORM_KINDS = frozenset({PrivilegedKind.CREATE_TENANT, PrivilegedKind.ROTATE_KEY})


class Executor(Protocol):
    """Carries out one kind of privileged action."""

    kind: PrivilegedKind

    async def check(self, tenant_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The normalised parameters, or a :class:`DomainError` naming what is wrong (an
        object of another tenant is :class:`NotFound`)."""
        ...

    async def execute(self, request: PrivilegedRequest, approver: StaffPrincipal,
                      ) -> dict[str, Any]:
        """Run the approved action; return its outcome (JSON)."""
        ...


class PrivilegedService:
    """Requests, approvals, rejections and execution of privileged actions."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.executors: dict[PrivilegedKind, Executor] = {}

    def register(self, executor: Executor) -> None:
        """Make ``executor`` run the approved requests of its kind."""
        self.executors[executor.kind] = executor

    async def request(self, principal: StaffPrincipal, kind: PrivilegedKind | str,
                      params: Mapping[str, Any], reason: str) -> PrivilegedRequest:
        """Record a pending request (nothing runs yet)."""
        principal.require(Permission.REQUEST_PRIVILEGED)
        try:
            kind = PrivilegedKind(kind)
        except ValueError:
            raise DomainError(f"Unknown privileged action {kind!r}.", field="kind",
                              allowed=[k.value for k in PrivilegedKind]) from None
        if kind in PLATFORM_KINDS and principal.tenant_id != DEFAULT_TENANT:
            raise NotPermitted(f"{kind.value} concerns the whole platform: only its operator "
                               "may ask for it.", field="kind", rule="R24")
        executor = self.executors.get(kind)
        if executor is None:
            raise DomainError(f"{kind.value} is not available on this instance.", field="kind")
        if not reason.strip() or len(reason) > 500:
            raise DomainError("Say why (1 to 500 characters): the approver and the auditors "
                              "read it.", field="reason")
        checked = await executor.check(principal.tenant_id, params)
        now = self.clock.now()
        async with self.db.session() as session:
            row = PrivilegedRequest(
                tenant_id=principal.tenant_id, kind=kind, params=checked,
                reason=reason.strip(), state=ApprovalState.PENDING,
                requested_by=principal.account_id, requested_party=principal.party_id,
                created_at=now, updated_at=now, version=1)
            session.add(row)
            await session.flush()
            return row

    async def approve(self, principal: StaffPrincipal, request_id: str) -> PrivilegedRequest:
        """Approve as a second person, then run; the row ends ``executed`` or ``failed``."""
        principal.require(Permission.APPROVE_PRIVILEGED)
        row = await self._decide(principal, request_id, ApprovalState.APPROVED)
        executor = self.executors[PrivilegedKind(row.kind)]
        try:
            outcome, state = await executor.execute(row, principal), ApprovalState.EXECUTED
        except PasserelleError as error:
            outcome, state = {"error": error.code, "detail": error.detail}, ApprovalState.FAILED
        except Exception:  # recorded as failed rather than left "approved" for ever
            log.exception("privileged request %s failed", row.id)
            outcome, state = {"error": "internal-error"}, ApprovalState.FAILED
        async with self.db.session() as session:
            stored = await get_row(session, PrivilegedRequest, principal.tenant_id, row.id,
                                   "privileged request")
            stored.state, stored.outcome = state, outcome
            stored.updated_at, stored.version = self.clock.now(), stored.version + 1
            session.add(stored)
            await session.flush()
            return stored

    async def reject(self, principal: StaffPrincipal, request_id: str) -> PrivilegedRequest:
        """Refuse a pending request (any other operator admin than its requester)."""
        principal.require(Permission.APPROVE_PRIVILEGED)
        return await self._decide(principal, request_id, ApprovalState.REJECTED)

    async def requests(self, tenant_id: str, *, pending_only: bool = False,
                       ) -> list[PrivilegedRequest]:
        """The tenant's requests, newest first."""
        statement = select(PrivilegedRequest).where(PrivilegedRequest.tenant_id == tenant_id)
        if pending_only:
            statement = statement.where(PrivilegedRequest.state == ApprovalState.PENDING)
        async with self.db.session() as session:
            return list((await session.exec(statement.order_by(
                col(PrivilegedRequest.created_at).desc()))).all())

    async def _decide(self, principal: StaffPrincipal, request_id: str,
                      decision: ApprovalState) -> PrivilegedRequest:
        now = self.clock.now()
        async with self.db.session() as session:
            row = await get_row(session, PrivilegedRequest, principal.tenant_id, request_id,
                                "privileged request")
            if row.state != ApprovalState.PENDING:
                raise IllegalTransition(f"This request is {row.state}, no longer pending.",
                                        from_state=row.state, to_state=decision.value,
                                        action="decide")
            if principal.account_id == row.requested_by or (
                    principal.party_id == row.requested_party):
                raise NotPermitted("A privileged action is approved or rejected by another "
                                   "person than the one who asked (R19).", field="actor",
                                   rule="R19")
            row.state, row.decided_by, row.decided_at = decision, principal.account_id, now
            row.updated_at, row.version = now, row.version + 1
            session.add(row)
            try:
                await session.flush()
            except StaleDataError:
                raise ConcurrentUpdate("Someone decided this request at the same time.") \
                    from None
            return row


"""Wiring of the market rules and the staff API: one ``cleanup_ctx`` (after the OAuth one,
whose consent service it shares, so that ending a consent still revokes its tokens).

It uses the instance's :class:`~consent.evidence.service.Evidence` and mandate service (opened
and wired by :mod:`proxy.evidence.setup`), builds the occupancy, supply, community and
privileged-action and erasure services, the staff journal (forwarded to the evidence log as admin
events), and registers the privileged actions: tenant creation, manual consent change,
evidence key rotation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from consent.errors import DomainError
from consent.evidence.service import Evidence
from consent.journal import StaffJournal
from consent.models import PrivilegedKind, PrivilegedRequest
from consent.services import OccupancyService
from consent.services.communities import CommunityService
from consent.services.erasure import ErasureService, evidence_sink
from consent.services.privileged import PrivilegedService
from consent.services.privileged_actions import ConsentChange, TenantCreation
from consent.services.supply import SupplyService
from consent.staff import StaffPrincipal
from proxy.keys import (
    clock_key,
    consent_service_key,
    database_key,
    evidence_key,
    mandate_service_key,
    rules_key,
    settings_key,
)
from proxy.staff.records import EvidenceRecorder
from proxy.staff.services import RuleServices


class KeyRotation:
    """``rotate_key``: ``{"key": "evidence"}`` opens a new evidence signing key (the old one
    stays published so that earlier signatures still verify)."""

    kind = PrivilegedKind.ROTATE_KEY

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence

    async def check(self, tenant_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if params.get("key") != "evidence":
            raise DomainError("key must be \"evidence\" (the evidence signing key).",
                              field="key", allowed=["evidence"])
        return {"key": "evidence"}

    async def execute(self, request: PrivilegedRequest, approver: StaffPrincipal,
                      ) -> dict[str, Any]:
        key = await self.evidence.rotate_key(actor=f"account:{approver.account_id}")
        return {"kid": key.kid, "not_before": key.not_before.isoformat()}


def setup_staff(app: web.Application) -> None:
    """Register the context that builds :class:`RuleServices` (routes: proxy/routes.py)."""
    app.cleanup_ctx.append(_rules_ctx)


async def _rules_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, db, clock = app[settings_key], app[database_key], app[clock_key]
    # The instance's one evidence service and mandate service, whose changes it already
    # records in their own transactions (proxy/evidence/setup.py).
    consents, mandates = app[consent_service_key], app[mandate_service_key]
    evidence = app[evidence_key]
    journal = StaffJournal(db)
    recorder = EvidenceRecorder(evidence)
    journal.sinks.append(recorder.admin)
    privileged = PrivilegedService(db, clock)
    for executor in (TenantCreation(db, clock), ConsentChange(consents), KeyRotation(evidence)):
        privileged.register(executor)
    app[rules_key] = RuleServices(
        consents=consents, mandates=mandates,
        occupancy=OccupancyService(db, clock, consents, mandates),
        supply=SupplyService(db, clock),
        communities=CommunityService(db, clock, settings.community_min_members),
        privileged=privileged, journal=journal, evidence=evidence, recorder=recorder,
        # The CLI's erasure (proxy/households_cli.py) on the app's wired services: ended
        # consents lose their tokens on every replica, each change is a signed record.
        erasure=ErasureService(consents, mandates, clock, evidence_sink(evidence)))
    yield

"""The services behind the staff API and the market rules, built once per application."""

from __future__ import annotations

from dataclasses import dataclass

from consent.evidence.service import Evidence
from consent.journal import StaffJournal
from consent.services import ConsentService, MandateService, OccupancyService
from consent.services.communities import CommunityService
from consent.services.privileged import PrivilegedService
from consent.services.supply import SupplyService
from proxy.staff.records import EvidenceRecorder


@dataclass(frozen=True, slots=True)
class RuleServices:
    """Mandates, communities, supply contracts, occupancy, privileged actions, the staff
    journal, the evidence service they record into and the recorder that writes there."""

    consents: ConsentService
    mandates: MandateService
    occupancy: OccupancyService
    supply: SupplyService
    communities: CommunityService
    privileged: PrivilegedService
    journal: StaffJournal
    evidence: Evidence
    recorder: EvidenceRecorder

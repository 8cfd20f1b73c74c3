"""Domain services: every write of the consent domain goes through here.

=========================  ===========================================================
module                     what
=========================  ===========================================================
``base``                   Actor, the transition writer, hooks (run inside the transaction)
``consents``               ConsentService: request/give/grant/refuse/renew/suspend/resume/
                           withdraw/revoke/expire
``consent_rules``          ConsentDraft, ConsentPolicy (caps), validation (R5, R8, R12),
                           the new consent's row
``consent_moves``          what each consent transition requires and writes (R14, R19)
``mandates``               MandateService: request/attach_proof/submit/approve/refuse/...
``mandate_rules``          MandateDraft, proof checks, does a mandate cover the request?
``mandate_checks``         the new mandate's row, who may touch a mandate, what a
                           transition requires (R10, R11, R14)
``occupancy``              OccupancyService: move-ins (R9), upstream state changes
``registry``               parties, accounts, recipients, points, occupancies, upstream
``queries``                tenant-scoped lookups that raise NotFound, live rows on points
=========================  ===========================================================
"""

from consent.services.base import Actor, Hook, Hooks, Transition
from consent.services.consent_rules import ConsentDraft, ConsentPolicy
from consent.services.consents import ConsentService
from consent.services.mandate_rules import MandateDraft, ProofUpload
from consent.services.mandates import MandateService
from consent.services.occupancy import MoveIn, OccupancyService

__all__ = [
    "Actor",
    "ConsentDraft",
    "ConsentPolicy",
    "ConsentService",
    "Hook",
    "Hooks",
    "MandateDraft",
    "MandateService",
    "MoveIn",
    "OccupancyService",
    "ProofUpload",
    "Transition",
]

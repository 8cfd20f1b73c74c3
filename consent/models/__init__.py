"""Every SQLModel table of the consent domain; importing this package registers them all on
``SQLModel.metadata`` (what migrations compare against).

=========================  ============================================================
module                     tables
=========================  ============================================================
``parties``                Tenant, Party, Account
``recipients``             Recipient (the OAuth clients' registry, R5, R21)
``points``                 MeteringPoint, Occupancy (R8, R9), UpstreamAuthorisation
``consents``               Consent, ConsentPoint, ConsentEvent
``mandates``               Mandate, MandatePoint, MandateEvent (R2, R10, R11)
``proofs``                 ProofDocument, MandateProof, ConsentProof (R2)
``oauth``                  AuthorizationCode, OAuthToken, BrowserSession, AuthorizationAnswer
                           (the OAuth server)
``identity``               ExternalIdentity, PasswordReset (OpenID sign-in, reset codes, R7, R15)
``claims``                 PointClaim, PortRequestRecord (claiming a point R15, user port R20)
``supply``                 SupplyContract (R13, as the upstream reports it)
``communities``            Community, CommunityMember (R4)
``operators``              StaffToken, PrivilegedRequest, StaffAction (R19)
``erasures``               ErasureRecord (the erasure journal, GDPR art. 17)
=========================  ============================================================
"""

from consent.models.base import DEFAULT_TENANT, new_id
from consent.models.claims import (
    ClaimMethod,
    ClaimOutcome,
    PointClaim,
    PortRequestRecord,
    PortRequestState,
)
from consent.models.communities import (
    DEFAULT_MIN_MEMBERS,
    MAX_COMMUNITY_K,
    MIN_COMMUNITY_K,
    Community,
    CommunityMember,
)
from consent.models.consents import Consent, ConsentEvent, ConsentPoint
from consent.models.erasures import ErasureRecord
from consent.models.history import AppendOnlyError, Channel
from consent.models.identity import ExternalIdentity, PasswordReset
from consent.models.mandates import Mandate, MandateEvent, MandatePoint, MandateScope
from consent.models.oauth import (
    AuthorizationAnswer,
    AuthorizationCode,
    BrowserSession,
    OAuthToken,
    TokenKind,
)
from consent.models.operators import (
    ApprovalState,
    PrivilegedKind,
    PrivilegedRequest,
    StaffAction,
    StaffToken,
)
from consent.models.parties import Account, AccountRole, Party, PartyKind, Tenant
from consent.models.points import (
    DEFAULT_TIMEZONES,
    MeteringPoint,
    Occupancy,
    UpstreamAuthorisation,
)
from consent.models.proofs import ConsentProof, MandateProof, ProofDocument, ProofKind, ReviewState
from consent.models.recipients import Recipient, RecipientState
from consent.models.supply import SupplyContract

__all__ = [
    "DEFAULT_MIN_MEMBERS",
    "DEFAULT_TENANT",
    "DEFAULT_TIMEZONES",
    "MAX_COMMUNITY_K",
    "MIN_COMMUNITY_K",
    "Account",
    "AccountRole",
    "AppendOnlyError",
    "ApprovalState",
    "AuthorizationAnswer",
    "AuthorizationCode",
    "BrowserSession",
    "Channel",
    "ClaimMethod",
    "ClaimOutcome",
    "Community",
    "CommunityMember",
    "Consent",
    "ConsentEvent",
    "ConsentPoint",
    "ConsentProof",
    "ErasureRecord",
    "ExternalIdentity",
    "Mandate",
    "MandateEvent",
    "MandatePoint",
    "MandateProof",
    "MandateScope",
    "MeteringPoint",
    "OAuthToken",
    "Occupancy",
    "Party",
    "PartyKind",
    "PasswordReset",
    "PointClaim",
    "PortRequestRecord",
    "PortRequestState",
    "PrivilegedKind",
    "PrivilegedRequest",
    "ProofDocument",
    "ProofKind",
    "Recipient",
    "RecipientState",
    "ReviewState",
    "StaffAction",
    "StaffToken",
    "SupplyContract",
    "Tenant",
    "TokenKind",
    "UpstreamAuthorisation",
    "new_id",
]

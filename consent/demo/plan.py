"""The deterministic demo, as plain data (DemoPlan). Nothing here touches a database.

Everything a demo needs is spelled out so that other parts can reuse it verbatim: the DSO
simulator serves these points with these customers and occupancy periods, ``passerelle demo
show`` prints these logins and client credentials, and ``seed_demo`` writes them. Identifiers,
ids and client secrets are derived from the plan only, so two instances seeded from the same
plan agree. The passwords and secrets are public: never seed a demo on a production instance.

The world itself (``DEMO_PLAN``) is :mod:`consent.demo.world`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from consent.demo.market import DemoCommunity, DemoConsent, DemoMandate, DemoSupply
from consent.identifiers import PointRef, Source
from consent.models import AccountRole, PartyKind
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.vocabulary import Dataset, Direction, Energy

_NAMESPACE = uuid.UUID("6f1d4c8e-5b1a-4c52-9a57-2f0e3d6a9b10")

@dataclass(frozen=True, slots=True)
class DemoHousehold:
    """A household, its login and its contact (identity data the simulator also serves)."""

    key: str
    name: str
    username: str
    password: str
    email: str


@dataclass(frozen=True, slots=True)
class DemoOccupancy:
    """Household ``household`` (a key) is the client over ``[starts_at, ends_at)``."""

    household: str
    starts_at: datetime
    ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DemoPoint:
    """A metering point with its address and full occupancy history, oldest first.

    The address is written as the DSO serves it (the ``address`` dataset's fields, the country
    by name): ``demo show`` prints it and the demo simulator serves it, from here only."""

    key: str
    source: Source
    identifier: str
    energy: Energy
    directions: tuple[Direction, ...]
    street: str
    postal_code: str
    city: str
    country: str
    occupancies: tuple[DemoOccupancy, ...]
    insee_code: str | None = None

    @property
    def ref(self) -> PointRef:
        """The validated point reference."""
        return PointRef(self.source, self.identifier)

    def occupant_at(self, instant: datetime) -> str | None:
        """Key of the household occupying the point at ``instant``, if any."""
        for occupancy in self.occupancies:
            if occupancy.starts_at <= instant and (occupancy.ends_at is None
                                                   or instant < occupancy.ends_at):
                return occupancy.household
        return None


@dataclass(frozen=True, slots=True)
class DemoRecipient:
    """A recipient app with fixed client id (its secret is derived, see DemoPlan)."""

    key: str
    name: str
    client_id: str
    website: str
    contact_email: str
    purposes: tuple[Purpose, ...]
    legal_basis: LegalBasis
    data_role: DataRole
    datasets: tuple[Dataset, ...]
    redirect_uris: tuple[str, ...]
    is_supplier: bool = False
    supplier_code: str | None = None
    organisation: str | None = None  # a staff organisation's name: the app is theirs
    #: Also registered: the Data Connect-compatible consent page's callback, at the address
    #: the instance runs at (``seed_demo``'s ``dataconnect_callback``).
    dataconnect: bool = False


@dataclass(frozen=True, slots=True)
class DemoStaff:
    """A staff login: ``organisation`` names the party it works for."""

    key: str
    name: str
    username: str
    password: str
    roles: tuple[AccountRole, ...]
    organisation: str
    organisation_kind: PartyKind


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """Everything the demo seeds. ``secret_seed`` derives the recipients' client secrets."""

    households: tuple[DemoHousehold, ...]
    points: tuple[DemoPoint, ...]
    recipients: tuple[DemoRecipient, ...]
    staff: tuple[DemoStaff, ...]
    upstream_valid_until: datetime
    consents: tuple[DemoConsent, ...] = ()
    mandates: tuple[DemoMandate, ...] = ()
    communities: tuple[DemoCommunity, ...] = ()
    supply: tuple[DemoSupply, ...] = ()
    tenant_id: str = "default"
    name: str = "passerelle-demo"
    secret_seed: str = field(default="passerelle-demo-secrets-not-for-production", repr=False)

    def id_for(self, kind: str, key: str) -> str:
        """The stable database id of the ``kind`` object named ``key`` (UUID5 of the plan)."""
        return str(uuid.uuid5(_NAMESPACE, f"{self.name}:{kind}:{key}"))

    def client_secret(self, recipient: DemoRecipient) -> str:
        """The recipient's client secret: HMAC-SHA256 of its client id under ``secret_seed``."""
        digest = hmac.new(self.secret_seed.encode(), recipient.client_id.encode(),
                          hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def household(self, key: str) -> DemoHousehold:
        """The household named ``key``."""
        return next(h for h in self.households if h.key == key)

    def recipient(self, key: str) -> DemoRecipient:
        """The recipient named ``key``."""
        return next(r for r in self.recipients if r.key == key)

    def point(self, key: str) -> DemoPoint:
        """The point named ``key``."""
        return next(p for p in self.points if p.key == key)

    def community(self, key: str) -> DemoCommunity:
        """The community named ``key``."""
        return next(c for c in self.communities if c.key == key)

    def points_of(self, household: str, at: datetime) -> list[DemoPoint]:
        """The points ``household`` occupies at ``at``."""
        return [p for p in self.points if p.occupant_at(at) == household]

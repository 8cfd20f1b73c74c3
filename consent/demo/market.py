"""The demo's market-rule objects, as plain data (issue 8): consents, mandates, communities and
supply contracts, named by the keys of the plan's households, points and recipients.

They show, on a fresh demo instance: a CPAS holding a standing mandate for a household it
assists (R11), a collective self-consumption community of seven households each with its own
consent to the organiser's app, so that k = 5 is met: six individual consents and one
*community* consent, whose point the organiser may use only inside the community's aggregate
(R4), and a supplier holding the supply contracts of the points it reads (R13).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from consent.models import MandateScope
from consent.purposes import Purpose
from consent.vocabulary import Dataset, Resolution


@dataclass(frozen=True, slots=True)
class DemoConsent:
    """Household ``household`` consents to ``recipient`` for ``days`` from the seeding day.
    ``community`` (a :class:`DemoCommunity` key) makes it a community consent (R4): the
    recipient, that community's organiser, may use the points only in its aggregate."""

    household: str
    recipient: str
    points: tuple[str, ...]
    datasets: tuple[Dataset, ...]
    purpose: Purpose
    days: int = 365
    max_resolution: Resolution = Resolution.P1D
    history_days: int = 365
    community: str | None = None


@dataclass(frozen=True, slots=True)
class DemoMandate:
    """Household ``household`` gives ``mandatary`` (an organisation name of the staff) a
    mandate online; ``days`` ``None`` is a standing mandate (social services only, R11)."""

    household: str
    mandatary: str
    scope: MandateScope
    points: tuple[str, ...]
    datasets: tuple[Dataset, ...]
    days: int | None = None


@dataclass(frozen=True, slots=True)
class DemoCommunity:
    """A community run by the recipient ``organiser``; ``members`` are (household, point)."""

    key: str
    name: str
    organiser: str
    members: tuple[tuple[str, str], ...]
    min_members: int = 5


@dataclass(frozen=True, slots=True)
class DemoSupply:
    """The DSO reports that ``supplier`` (a recipient key) supplies ``point`` since ``since``."""

    point: str
    supplier: str
    since: datetime

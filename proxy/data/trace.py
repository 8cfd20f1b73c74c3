"""What a data handler learns about its request, for the access event (see proxy.data.evidence)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from consent.models.base import DEFAULT_TENANT
from consent.periods import CONSENT_ZONE, DayRange, Period
from proxy.upstream.calls import FetchReport


@dataclass(slots=True)
class Trace:
    """What a handler learnt about its request, for the access event."""

    api: str
    route: str
    tenant: str = DEFAULT_TENANT
    recipient_id: str | None = None
    consent_id: str | None = None
    mandate_id: str | None = None
    point: str | None = None
    dataset: str | None = None
    window: Period | None = None
    resolution: str | None = None
    #: The community whose aggregate this read is one member's part of (R4), else ``None``.
    community_id: str | None = None
    report: FetchReport = field(default_factory=FetchReport)
    #: When the consent checks last allowed the request: the access event's ``at`` (the
    #: instant the data was released), else the instant the event is written.
    decided_at: datetime | None = None


def asked_window(days: DayRange) -> Period:
    """The window ``days`` names, for the access event of a request refused before the
    point's own zone is read (rate-limited, malformed): in the households' civil time
    (:data:`~consent.periods.CONSENT_ZONE`, the one zone of France and Belgium);
    :meth:`~proxy.data.service.DataService.series` then records it in the point's zone."""
    return days.to_period(CONSENT_ZONE)

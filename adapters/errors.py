"""The adapter error tree: what can go wrong between Passerelle and a DSO.

Every adapter translates whatever its DSO or its transport throws (aiohttp errors, timeouts, bad
JSON, documented error bodies) into exactly one of these classes, at the boundary that meets the
foreign error, and raises it ``from`` the original. The HTTP edge renders them as problem+json
(RFC 9457) without knowing any DSO.

::

    UpstreamError (502 upstream-error)                 the DSO could not serve the request
    ├── UpstreamUnavailable (503 upstream-unavailable)   5xx, connection refused; retry_after
    │   └── UpstreamRateLimited (503 upstream-rate-limited)  the DSO said 429; retry_after
    │       └── QuotaBusy (503 upstream-rate-limited)       our limiter: no turn within max_wait
    ├── UpstreamTimeout (504 upstream-timeout)           no complete answer in time
    ├── UpstreamMalformed (502 upstream-malformed)       answer does not match the contract; field
    ├── UpstreamCredentialsRejected (502 upstream-credentials)  the DSO refused *our* credentials
    ├── UpstreamDenied (403 upstream-authorisation)      no authorisation / not the holder (R8, R9)
    ├── UpstreamRejected (409 upstream-rejected)         the DSO refused a write for its content
    ├── UnknownPoint (404 unknown-point)                 the DSO does not know the point
    ├── NoData (404 no-data)                             known point, valid period, nothing measured
    ├── PeriodNotServed (400 period-not-served)          outside what the DSO serves; available
    │   ├── BeyondHistory (400 beyond-history)             before the history depth or the meter
    │   ├── BeforeMoveIn (400 before-move-in)              before the occupant's move-in (R8)
    │   ├── NotYetAvailable (400 not-yet-available)        after the last published day (D-1)
    │   └── WindowTooLong (400 window-too-long)            longer than one upstream call allows
    └── Unsupported (501 unsupported)                    the adapter does not offer this operation
        ├── UnsupportedDataset (400 unsupported-dataset)   not for this point's energy/direction
        └── UnsupportedResolution (400 unsupported-resolution)  not a native resolution

Rules every class follows: ``detail`` is written for a person and never contains a secret, a
token, a raw upstream body or a customer's personal data; ``retryable`` tells a caller whether
the same request may succeed later (only then does retrying make sense). We never pass a 429 on:
the DSO's quota is ours to respect, so a rate limit is a 503 with ``Retry-After`` for our callers.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, ClassVar

from consent.errors import PasserelleError
from consent.periods import Period


class UpstreamError(PasserelleError):
    """The DSO (or the path to it) could not serve the request."""

    status = 502
    code = "upstream-error"
    title = "Upstream error"
    retryable: ClassVar[bool] = False


class UpstreamUnavailable(UpstreamError):
    """The DSO answered 5xx or could not be reached; try again after ``retry_after`` seconds."""

    status = 503
    code = "upstream-unavailable"
    title = "Upstream unavailable"
    retryable = True

    def __init__(self, detail: str, *, retry_after: int | None = None, **extra: Any) -> None:
        if retry_after is not None:
            extra["retry_after"] = retry_after
        super().__init__(detail, **extra)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` (RFC 9110 §10.2.3) for the problem response, when known."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}

    def wait_at_least(self, seconds: float) -> None:
        """Name at least ``seconds`` as the wait (the hold the limiter applied, when the DSO
        named none, or ``0``)."""
        wait = math.ceil(seconds)
        if wait > 0 and (self.retry_after is None or self.retry_after < wait):
            self.retry_after = self.extra["retry_after"] = wait


class UpstreamRateLimited(UpstreamUnavailable):
    """The DSO said we exceeded its quota (HTTP 429, Enedis "SLA dépassé").

    Rendered as 503 with ``Retry-After``: the quota is the operator's, shared by every recipient,
    so a recipient is told the service is busy, not that *it* sent too many requests.
    """

    code = "upstream-rate-limited"
    title = "Upstream quota reached"


class QuotaBusy(UpstreamRateLimited):
    """Our own limiter found no turn within its bound: the request was *not* sent (the DSO's
    quota is in use or held after a 429). Same answer to the caller as a 429 passed on; kept
    apart so that metrics never count it as a 429 of the DSO."""


class ShareSpent(QuotaBusy):
    """The recipient has used its share of one of the DSO's longer quota windows (an hour, a
    day): its own calls wait until part of it frees, the other recipients' go on. Nothing was
    sent. 429, as a recipient's own rate limit: its doing, not the DSO's (unlike the 503 of a
    quota everyone shares)."""

    status = 429
    code = "rate-limited"
    title = "Too many requests"


class UpstreamTimeout(UpstreamError):
    """No complete answer within the adapter's timeout."""

    status = 504
    code = "upstream-timeout"
    title = "Upstream timeout"
    retryable = True


class UpstreamMalformed(UpstreamError):
    """The answer does not match the DSO's documented shape; ``field`` names the first offender.

    Raised instead of passing on a value we cannot trust (never a wrong number).
    """

    code = "upstream-malformed"
    title = "Malformed upstream answer"

    def __init__(self, detail: str, *, field: str, **extra: Any) -> None:
        super().__init__(detail, field=field, **extra)
        self.field = field


class UpstreamCredentialsRejected(UpstreamError):
    """The DSO refused the operator's own client credentials: a configuration problem."""

    code = "upstream-credentials"
    title = "Upstream rejected the operator's credentials"


class UpstreamDenied(UpstreamError):
    """The DSO says the operator holds no valid authorisation for the point, or the customer is
    not (or no longer) the holder of the point (Enedis ADAM-DC-0007/0008, R8, R9)."""

    status = 403
    code = "upstream-authorisation"
    title = "No upstream authorisation for this point"


class UpstreamRejected(UpstreamError):
    """The DSO refused a write (declaring an access right, uploading proofs, revoking) because
    of what it contained; ``reason`` is a stable slug (``postal-code-mismatch``,
    ``too-many-proofs``...) a page can turn into advice. Never retried: the same request would
    be refused again."""

    status = 409
    code = "upstream-rejected"
    title = "Refused by the data source"

    def __init__(self, detail: str, *, reason: str = "rejected", **extra: Any) -> None:
        super().__init__(detail, reason=reason, **extra)
        self.reason = reason


class UnknownPoint(UpstreamError):
    """The DSO does not know the metering point."""

    status = 404
    code = "unknown-point"
    title = "Unknown metering point"


class NoData(UpstreamError):
    """The point is known and the period valid, but nothing was measured (e.g. load curve off)."""

    status = 404
    code = "no-data"
    title = "No data"


class PeriodNotServed(UpstreamError):
    """The period lies (partly) outside what the DSO serves; ``available`` says what it serves.

    Adapters are strict: they never silently cut a period. Callers clip with
    :meth:`adapters.base.MeterDataAdapter.describe` first.
    """

    status = 400
    code = "period-not-served"
    title = "Period not served"

    def __init__(self, detail: str, *, available: Period | None = None, **extra: Any) -> None:
        if available is not None:
            extra["available"] = {"start": _iso(available.start), "end": _iso(available.end)}
        super().__init__(detail, **extra)
        self.available = available


class BeyondHistory(PeriodNotServed):
    """The period starts before the DSO's history depth or before the meter existed."""

    code = "beyond-history"
    title = "Period beyond the available history"


class BeforeMoveIn(PeriodNotServed):
    """The period starts before the current occupant moved in: that history is not theirs (R8)."""

    code = "before-move-in"
    title = "Period before the occupant's move-in"


class NotYetAvailable(PeriodNotServed):
    """The period ends after the last published day (data is published up to D-1)."""

    code = "not-yet-available"
    title = "Data not yet available"


class WindowTooLong(PeriodNotServed):
    """One upstream call cannot cover that long a window (adapters split; a DSO server refuses)."""

    code = "window-too-long"
    title = "Window too long for one call"


class Unsupported(UpstreamError):
    """The adapter does not offer this operation at all (e.g. the meter port over ADICT)."""

    status = 501
    code = "unsupported"
    title = "Not supported by this source"


class UnsupportedDataset(Unsupported):
    """The dataset does not exist for this point (gas max power, production of a consumer)."""

    status = 400
    code = "unsupported-dataset"
    title = "Dataset not available for this point"


class UnsupportedResolution(Unsupported):
    """The resolution is not one the DSO delivers natively for this dataset and point."""

    status = 400
    code = "unsupported-resolution"
    title = "Resolution not available"


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


#: Every adapter error class by its stable ``code`` (the in-house API and its client use it).
ERRORS_BY_CODE: dict[str, type[UpstreamError]] = {
    cls.code: cls
    for cls in (
        UpstreamError, UpstreamUnavailable, UpstreamRateLimited, UpstreamTimeout,
        UpstreamMalformed, UpstreamCredentialsRejected, UpstreamDenied, UpstreamRejected,
        UnknownPoint, NoData,
        PeriodNotServed, BeyondHistory, BeforeMoveIn, NotYetAvailable, WindowTooLong,
        Unsupported, UnsupportedDataset, UnsupportedResolution,
    )
}

"""A DSO's ``Retry-After`` (RFC 9110 §10.2.3), read the same way by every adapter and by the
token client: how long the DSO asks us to wait, bounded."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: The longest wait a DSO's ``Retry-After`` can impose (s). A DSO's word holds the operator's
#: whole application (its shared quota) for every recipient: a hostile or broken value
#: (``Retry-After: 10^17``) must not hold it for ever, here or in a replica's shared ledger.
MAX_RETRY_AFTER = 3600

_SECONDS = re.compile(r"([0-9]+)(?:\.[0-9]+)?")


def retry_after_seconds(value: str, date: str | None = None) -> int | None:
    """A ``Retry-After`` header (RFC 9110 §10.2.3) in whole seconds, at most
    :data:`MAX_RETRY_AFTER`: ``delay-seconds`` (a fraction, which some gateways send, rounded
    up), or an ``HTTP-date`` counted from the answer's ``Date`` header (``date``; else this
    machine's clock: both ends then come from the DSO's clock when it gives them). ``None``
    if absent or unreadable, a negative number included: the caller decides then."""
    text = value.strip()
    if not text:
        return None
    number = _SECONDS.fullmatch(text)
    if number is not None:
        if len(number[1].lstrip("0")) > len(str(MAX_RETRY_AFTER)):  # beyond the cap
            return MAX_RETRY_AFTER
        return min(math.ceil(float(text)), MAX_RETRY_AFTER)
    when = _http_date(text)
    if when is None:
        return None
    sent = _http_date(date) if date else None
    delta = (when - (sent or datetime.now(UTC))).total_seconds()
    return min(max(0, math.ceil(delta)), MAX_RETRY_AFTER)


def _http_date(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

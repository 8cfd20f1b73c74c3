"""The day consents count their months and years from is the households' local day, on the
OAuth path as on the Data Connect-compatible one (review 16: OAuth took the UTC date)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from consent.durations import parse_data_connect
from consent.periods import consent_today
from tests.oauth.conftest import Browser, Running
from tests.oauth.helpers import exchange_code, get_code

#: 23:30 UTC on 30 November: in Paris (and Brussels) it is already 1 December, 00:30.
LATE = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)


def test_the_consent_day_is_the_local_day_not_the_utc_one() -> None:
    assert consent_today(LATE) == date(2026, 12, 1)
    assert consent_today(datetime(2026, 11, 30, 22, 59, tzinfo=UTC)) == date(2026, 11, 30)
    assert consent_today(datetime(2026, 7, 31, 22, 0, tzinfo=UTC)) == date(2026, 8, 1)  # CEST


async def test_a_month_asked_at_half_past_eleven_utc_counts_from_the_local_day(
        passerelle: Running, browser: Browser) -> None:
    """P1M asked at 00:30 on 1 December in Paris lasts to 1 January, 31 days, as the Data
    Connect-compatible page counts it; from the UTC date (30 November) it was 30 days."""
    passerelle.clock.set(LATE)
    details = json.dumps([{"type": "meter_data", "datasets": ["daily_consumption"],
                           "duration": "P1M"}])
    code, verifier = await get_code(passerelle, browser, authorization_details=details)
    status, token = await exchange_code(passerelle, code, verifier)
    assert status == 200, token
    [detail] = token["authorization_details"]
    assert detail["duration"] == "P31D"
    assert parse_data_connect("P1M", consent_today(LATE)) == 31  # the compatible path's count

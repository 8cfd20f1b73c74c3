"""Access-event ids are UUIDv7 (RFC 9562): time first, so the primary key grows at its end."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from consent.access_events import AccessEvent, Outcome
from consent.models.base import time_ordered_id

MS = st.integers(min_value=0, max_value=2**48 - 1)


@given(MS)
def test_an_id_is_a_version_7_uuid_carrying_its_millisecond(unix_ms: int) -> None:
    text = time_ordered_id(unix_ms)
    parsed = uuid.UUID(text)
    assert str(parsed) == text  # the canonical lowercase form, like new_id()'s
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == unix_ms


@given(MS, MS)
def test_ids_sort_as_text_in_the_order_of_their_milliseconds(a: int, b: int) -> None:
    if a != b:
        assert (time_ordered_id(a) < time_ordered_id(b)) == (a < b)


def test_ids_of_one_millisecond_differ_in_their_74_random_bits() -> None:
    ids = {time_ordered_id(1_700_000_000_000) for _ in range(1000)}
    assert len(ids) == 1000
    low_bits = {uuid.UUID(i).int & ((1 << 74) - 1) for i in ids}  # not a counter: spread out
    assert max(low_bits) - min(low_bits) > 1 << 70


def test_by_default_the_id_is_of_now_and_access_events_take_one() -> None:
    before = time.time_ns() // 1_000_000
    event = AccessEvent(at=datetime.now(UTC), request_id="r", api="native",
                        route="/", outcome=Outcome.SERVED, status=200, body_sha256="0" * 64)
    after = time.time_ns() // 1_000_000
    assert before <= uuid.UUID(event.id).int >> 80 <= after

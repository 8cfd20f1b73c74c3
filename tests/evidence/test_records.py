"""Signed records, the record schema's rules, selections and the consent-coverage rule."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from consent.clock import FrozenClock
from consent.evidence import canonical as canonical_module
from consent.evidence.canonical import EncodingError, canonical, format_instant, parse_instant
from consent.evidence.coverage import ConsentTimeline
from consent.evidence.errors import InvalidRecord, InvalidSelection
from consent.evidence.events import DENIED, SERVED, AccessEvent
from consent.evidence.keys import KeyHistory, PublicKeyInfo
from consent.evidence.keystore import MemoryKeyStore, public_bytes
from consent.evidence.records import Actor
from consent.evidence.selection import Selection
from consent.evidence.signing import SignatureProblem, sign_record, verify_envelope
from tests.evidence import scenario
from tests.evidence.conftest import T0


async def test_a_signed_record_verifies_and_names_what_breaks(clock: FrozenClock) -> None:
    keys = MemoryKeyStore(clock=clock)
    signed = await sign_record(keys, scenario.grant(clock).to_json(), clock.now())
    history = await keys.history()
    assert verify_envelope(signed.to_json(), history).record["signed_at"] == format_instant(T0)
    changed = signed.to_json()
    changed["record"] = {**changed["record"], "purpose": "research"}
    with pytest.raises(SignatureProblem, match="does not verify"):
        verify_envelope(changed, history)
    with pytest.raises(SignatureProblem, match="not in the key history"):
        verify_envelope(signed.to_json(), KeyHistory([]))
    with pytest.raises(SignatureProblem, match="exactly the members"):
        verify_envelope({**signed.to_json(), "extra": 1}, history)
    # A key retired before signed_at does not vouch for the record.
    private = Ed25519PrivateKey.generate()
    retired = PublicKeyInfo(public_bytes(private), T0 - timedelta(days=2), T0 - timedelta(days=1))
    record = signed.to_json()["record"]
    late = {"record": record, "kid": retired.kid,
            "sig": base64.b64encode(private.sign(canonical(record))).decode()}
    with pytest.raises(SignatureProblem, match="was not valid at signed_at"):
        verify_envelope(late, KeyHistory([retired]))


def test_household_actions_must_show_text_and_authentication(clock: FrozenClock) -> None:
    record = scenario.grant(clock)
    with pytest.raises(InvalidRecord, match="authenticated"):
        replace(record, authentication=None)
    with pytest.raises(InvalidRecord, match="consent text"):
        replace(record, notice=None)
    # The system expiring a consent has nobody to authenticate.
    replace(record, action="expire", state="expired", notice=None, authentication=None,
            actor=Actor("system", "system"))
    with pytest.raises(InvalidRecord, match="end after it starts"):
        replace(record, valid_until=record.valid_from)


def test_access_events_must_name_their_consent_when_served(clock: FrozenClock) -> None:
    with pytest.raises(InvalidRecord, match="must name its point, and its consent or mandate"):
        scenario.access(clock, consent_id=None)
    with pytest.raises(InvalidRecord, match="access outcome is one of"):
        scenario.access(clock, outcome="maybe")
    denied = scenario.access(clock, outcome=DENIED, consent_id=None, rule="no consent")
    assert denied.to_log_event().chain is None


def test_floats_and_naive_instants_are_refused() -> None:
    with pytest.raises(EncodingError):
        canonical({"a": [1, {"b": 0.5}]})
    for lone_surrogate in ({"\ud800": 1}, {"k": "\udfff"}, ["\ud800"]):
        with pytest.raises(EncodingError):
            canonical(lone_surrogate)
    with pytest.raises(EncodingError):
        format_instant(T0.replace(tzinfo=None))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=4), max_leaves=12)


#: Text with lone surrogates too (hypothesis leaves them out by default): JCS refuses them.
_ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=8)
_JSON_ANY_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | _ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_ANY_TEXT, inner, max_size=4),
    max_leaves=12)


def _agrees_with_rfc8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):  # a lone surrogate in a key
        with pytest.raises(EncodingError):
            canonical(value)
        return
    assert canonical(value) == expected


@given(_JSON)
def test_the_fast_canonical_form_is_rfc8785(value: Any) -> None:
    _agrees_with_rfc8785(value)


@given(_JSON_ANY_TEXT)
def test_the_fast_canonical_form_is_rfc8785_with_lone_surrogates(value: Any) -> None:
    _agrees_with_rfc8785(value)


@given(_JSON_ANY_TEXT)
def test_without_orjson_the_standard_library_gives_the_same_bytes(value: Any) -> None:
    # The offline verifier may be installed without orjson: canonical() then takes json.dumps.
    with patch.object(canonical_module, "orjson", None):
        _agrees_with_rfc8785(value)


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                    timezones=st.sampled_from([UTC, ZoneInfo("Europe/Paris"),
                                               ZoneInfo("Pacific/Kiritimati"),
                                               timezone(timedelta(hours=-9, minutes=-30))])))
def test_instants_are_fixed_width_utc_text(instant: datetime) -> None:
    text = format_instant(instant)
    utc = instant.astimezone(UTC)
    # Four-digit years always (strftime's %Y does not pad years before 1000).
    assert text == f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.%fZ")
    assert len(text) == 27
    assert parse_instant(text) == instant.astimezone(UTC)


def test_selections() -> None:
    selection = Selection(tenant="t1", household_id="h-1", start=T0, end=T0 + timedelta(days=1))
    assert Selection.from_json(selection.to_json()) == selection
    assert selection.describe() == ("household h-1, from 2026-03-02T09:00:00.000000Z to "
                                    "2026-03-03T09:00:00.000000Z, (tenant t1)")
    assert selection.matches({"tenant": "t1", "household_id": "h-1"}, T0)
    assert not selection.matches({"tenant": "t2", "household_id": "h-1"}, T0)
    assert not selection.matches({"tenant": "t1", "household_id": "h-1"}, T0 + timedelta(days=1))
    with pytest.raises(InvalidSelection, match="Select"):
        Selection(tenant="t1")
    with pytest.raises(InvalidSelection, match="end after"):
        Selection(start=T0, end=T0)
    with pytest.raises(InvalidSelection, match="Malformed"):
        Selection.from_json({"from": "yesterday"})


def served(clock: FrozenClock, **changes: Any) -> dict[str, Any]:
    event: AccessEvent = scenario.access(clock, outcome=SERVED)
    payload = dict(event.to_log_event().payload)
    payload.update(changes)
    return payload


def test_the_coverage_rule(clock: FrozenClock) -> None:
    grant = scenario.grant(clock)
    suspend = replace(grant, version=2, action="suspend", state="suspended",
                      at=T0 + timedelta(days=2), actor=Actor("operator", "web"),
                      notice=None, authentication=None)
    resume = replace(suspend, version=3, action="resume", state="active",
                     at=T0 + timedelta(days=3))
    timeline = ConsentTimeline([r.to_json() for r in (resume, grant, suspend)])  # any order
    assert [(p.start, p.end) for p in timeline.periods] == [
        (T0, T0 + timedelta(days=2)), (T0 + timedelta(days=3), grant.valid_until)]
    clock.advance(timedelta(days=1))
    assert timeline.check(served(clock)) is None
    clock.advance(timedelta(days=1, hours=1))
    assert "while the consent was suspended" in str(timeline.check(served(clock)))
    clock.advance(timedelta(days=1))
    assert timeline.check(served(clock)) is None
    window = {"start": format_instant(T0 - timedelta(days=400)), "end": format_instant(T0)}
    assert "older than the consent's 365 days" in str(timeline.check(served(clock,
                                                                            window=window)))
    assert "finer than" in str(timeline.check(served(clock, resolution="PT10M")))
    assert timeline.check(served(clock, resolution="P1M")) is None
    reversed_window = {"start": format_instant(T0), "end": format_instant(T0)}
    assert "empty or reversed" in str(timeline.check(served(clock, window=reversed_window)))
    assert "another tenant" in str(timeline.check(served(clock, tenant="t2")))
    clock.set(grant.valid_until)
    assert "expired (past valid_until)" in str(timeline.check(served(clock)))
    assert "not yet requested" in str(timeline.check(served(FrozenClock(T0 - timedelta(1)))))

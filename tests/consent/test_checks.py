"""Every consent rule allows and denies, at its boundaries (R6, R8, R12, R13)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.access import AccessContext, ConsentGrant, PointFacts, ReadRequest, TokenGrant
from consent.checks import (
    REQUIRED_RULES,
    AllOf,
    ConsentActive,
    TokenValid,
    default_policy,
)
from consent.errors import AccessDenied
from consent.identifiers import PointRef, Source
from consent.periods import DayRange, Period
from consent.vocabulary import Dataset, Resolution

PARIS = ZoneInfo("Europe/Paris")
PRM = PointRef(Source.ENEDIS, "22516914714270")
OTHER = PointRef(Source.ENEDIS, "11453290002823")
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def day(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), tzinfo=PARIS)


DATA_START = date(2025, 1, 1)
DATA_END = date(2026, 6, 1)  # first day not released
MOVE_IN = date(2025, 3, 10)
ACCESS_END = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)

CONSENT = ConsentGrant(
    consent_id="c-1",
    recipient_id="app-1",
    active=True,
    access=Period(datetime(2026, 1, 1, tzinfo=UTC), ACCESS_END),
    points=frozenset({PRM}),
    datasets=frozenset({Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE,
                        Dataset.CONTRACT}),
    data_window=Period(day(DATA_START), day(DATA_END)),
    finest={Dataset.CONSUMPTION_LOAD_CURVE: Resolution.P1D},
)
TOKEN = TokenGrant(recipient_id="app-1", expires_at=NOW + timedelta(hours=1), consent_id="c-1")
FACTS = PointFacts(occupancy=(Period(day(MOVE_IN)),),
                   upstream=Period(day(date(2024, 1, 1)), day(date(2027, 1, 1))))


def ctx(start: date = date(2026, 5, 1), end: date = date(2026, 5, 8), *,
        dataset: Dataset = Dataset.DAILY_CONSUMPTION, resolution: Resolution | None = None,
        at: datetime = NOW, point: PointRef = PRM, token: TokenGrant | None = TOKEN,
        consent: ConsentGrant | None = CONSENT, facts: PointFacts | None = FACTS) -> AccessContext:
    series = dataset.spec.is_series
    request = ReadRequest(
        point=point, dataset=dataset, at=at, timezone=PARIS,
        window=DayRange(start, end).to_period(PARIS) if series else None,
        resolution=(resolution or Resolution.P1D) if series else None,
    )
    return AccessContext(request, token, consent, facts)


def denial_rule(c: AccessContext) -> str | None:
    denial = default_policy().check(c)
    return denial.rule if denial else None


def test_a_request_inside_every_rule_is_allowed() -> None:
    assert denial_rule(ctx()) is None
    default_policy().enforce(ctx())


def test_enforce_raises_access_denied_naming_the_rule_and_allowed_window() -> None:
    with pytest.raises(AccessDenied) as info:
        default_policy().enforce(ctx(date(2025, 3, 9), date(2025, 3, 12)))
    error = info.value
    assert error.rule == "R8 occupancy"
    assert error.status == 403
    problem = error.to_problem()
    assert problem["rule"] == "R8 occupancy"
    assert problem["allowed"]["window"]["start"] == day(MOVE_IN).isoformat()
    assert problem["allowed"]["window"]["end"] == day(DATA_END).isoformat()


# --- R6 data window: first and last allowed day ---------------------------------------------

@given(st.integers(min_value=-40, max_value=40), st.integers(min_value=1, max_value=20))
def test_data_window_last_allowed_day(offset: int, length: int) -> None:
    end = DATA_END + timedelta(days=offset)
    start = end - timedelta(days=length)
    if start < MOVE_IN:
        return
    rule = denial_rule(ctx(start, end))
    assert (rule is None) == (end <= DATA_END)
    if rule is not None:
        assert rule == "R6 data window"


@given(st.integers(min_value=-5, max_value=5))
def test_data_window_first_allowed_day(offset: int) -> None:
    facts = replace(FACTS, occupancy=(Period(day(date(2020, 1, 1))),))
    start = DATA_START + timedelta(days=offset)
    rule = denial_rule(ctx(start, start + timedelta(days=3), facts=facts))
    assert rule == (None if offset >= 0 else "R6 data window")


# --- R8 occupancy: move-in day, move-out day ------------------------------------------------

@given(st.integers(min_value=-5, max_value=5))
def test_nothing_before_move_in(offset: int) -> None:
    start = MOVE_IN + timedelta(days=offset)
    rule = denial_rule(ctx(start, start + timedelta(days=2)))
    assert rule == (None if offset >= 0 else "R8 occupancy")


@given(st.integers(min_value=-5, max_value=5))
def test_nothing_after_move_out(offset: int) -> None:
    move_out = date(2026, 5, 20)
    facts = replace(FACTS, occupancy=(Period(day(MOVE_IN), day(move_out)),))
    end = move_out + timedelta(days=offset)
    rule = denial_rule(ctx(end - timedelta(days=3), end, facts=facts))
    assert rule == (None if offset <= 0 else "R8 occupancy")


def test_records_only_while_the_household_occupies_the_point() -> None:
    facts = replace(FACTS, occupancy=(Period(day(MOVE_IN), NOW),))
    assert denial_rule(ctx(dataset=Dataset.CONTRACT, at=NOW - timedelta(seconds=1),
                           facts=facts)) is None
    assert denial_rule(ctx(dataset=Dataset.CONTRACT, at=NOW, facts=facts)) == "R8 occupancy"


def test_unknown_occupancy_denies() -> None:
    assert denial_rule(ctx(facts=replace(FACTS, occupancy=()))) == "R8 occupancy"
    assert denial_rule(ctx(facts=None)) == "R8 occupancy"


# --- R6 consent active: expiry instant, revocation between two requests ---------------------

@given(st.integers(min_value=-10_000_000, max_value=10_000_000))
def test_consent_expiry_instant(microseconds: int) -> None:
    at = ACCESS_END + timedelta(microseconds=microseconds)
    token = replace(TOKEN, expires_at=at + timedelta(hours=1))
    rule = denial_rule(ctx(at=at, token=token))
    assert rule == (None if at < ACCESS_END else "R6 consent active")


def test_revocation_between_two_requests() -> None:
    first = NOW
    revoked = replace(CONSENT, revoked_at=NOW + timedelta(seconds=1), active=False)
    assert ConsentActive().check(ctx(at=first, consent=replace(revoked, active=True))) is None
    assert denial_rule(ctx(at=NOW + timedelta(seconds=2), consent=revoked)) == "R6 consent active"


def test_inactive_or_missing_consent_denies() -> None:
    assert denial_rule(ctx(consent=replace(CONSENT, active=False))) == "R6 consent active"
    assert denial_rule(ctx(consent=None)) == "R6 consent active"


# --- R6 token ---------------------------------------------------------------------------------

@given(st.integers(min_value=-5_000_000, max_value=5_000_000))
def test_token_expiry_instant(microseconds: int) -> None:
    expires = NOW + timedelta(microseconds=microseconds)
    rule = TokenValid().check(ctx(token=replace(TOKEN, expires_at=expires)))
    assert (rule is None) == (expires > NOW)


@pytest.mark.parametrize("token", [
    None,
    replace(TOKEN, revoked=True),
    replace(TOKEN, recipient_id="app-2"),
    replace(TOKEN, consent_id="c-other"),
])
def test_token_rule_denies(token: TokenGrant | None) -> None:
    assert denial_rule(ctx(token=token)) == "R6 token"


def test_client_credentials_token_uses_the_recipients_consent() -> None:
    assert denial_rule(ctx(token=replace(TOKEN, consent_id=None))) is None


# --- R6 point, dataset, resolution ------------------------------------------------------------

def test_point_outside_consent_or_token_denies_and_lists_the_allowed_points() -> None:
    denial = default_policy().check(ctx(point=OTHER))
    assert denial is not None
    assert denial.rule == "R6 point"
    assert denial.allowed == {"points": [str(PRM)]}
    narrowed = replace(TOKEN, points=frozenset({OTHER}))
    assert denial_rule(ctx(token=narrowed)) == "R6 point"


def test_dataset_outside_consent_or_token_scopes_denies() -> None:
    denial = default_policy().check(ctx(dataset=Dataset.DAILY_PRODUCTION))
    assert denial is not None
    assert denial.rule == "R6 dataset"
    assert denial.allowed is not None
    assert "daily_consumption" in denial.allowed["datasets"]
    scoped = replace(TOKEN, datasets=frozenset({Dataset.CONTRACT}))
    assert denial_rule(ctx(token=scoped)) == "R6 dataset"


@pytest.mark.parametrize(("resolution", "rule"), [
    (Resolution.PT30M, "R6 resolution"),
    (Resolution.PT1H, "R6 resolution"),
    (Resolution.P1D, None),
    (Resolution.P1M, None),
])
def test_daily_only_consent_gets_daily_values_of_a_load_curve_never_the_curve(
        resolution: Resolution, rule: str | None) -> None:
    c = ctx(dataset=Dataset.CONSUMPTION_LOAD_CURVE, resolution=resolution)
    assert denial_rule(c) == rule


def test_uncapped_dataset_allows_its_native_resolution() -> None:
    uncapped = replace(CONSENT, finest={})
    c = ctx(dataset=Dataset.CONSUMPTION_LOAD_CURVE, resolution=Resolution.PT30M, consent=uncapped)
    assert denial_rule(c) is None
    assert uncapped.finest_for(Dataset.CONSUMPTION_LOAD_CURVE) is Resolution.PT10M


def test_a_daily_dataset_cannot_be_asked_finer_than_its_native_resolution() -> None:
    assert denial_rule(ctx(resolution=Resolution.PT1H)) == "R6 resolution"


def test_records_have_no_resolution() -> None:
    request = replace(ctx(dataset=Dataset.CONTRACT).request, resolution=Resolution.P1D)
    assert default_policy().check(AccessContext(request, TOKEN, CONSENT, FACTS)) is not None


# --- upstream authorisation, R12 history, R13 supplier ----------------------------------------

def test_upstream_authorisation_must_be_in_force_and_cover_the_window() -> None:
    assert denial_rule(ctx(facts=replace(FACTS, upstream=None))) == "upstream authorisation"
    ended = replace(FACTS, upstream=Period(day(date(2024, 1, 1)), NOW))
    assert denial_rule(ctx(facts=ended)) == "upstream authorisation"
    late = replace(FACTS, upstream=Period(day(date(2026, 5, 3)), day(date(2027, 1, 1))))
    assert denial_rule(ctx(facts=late)) == "upstream authorisation"
    assert denial_rule(ctx(date(2026, 5, 3), date(2026, 5, 5), facts=late)) is None


def _since_2015() -> tuple[ConsentGrant, PointFacts]:
    """A consent, an occupancy and an upstream authorisation reaching back to 2015: only R12
    bounds how far back a request may go."""
    wide = replace(CONSENT, data_window=Period(day(date(2015, 1, 1)), day(DATA_END)))
    facts = PointFacts(occupancy=(Period(day(date(2015, 1, 1))),),
                       upstream=Period(day(date(2015, 1, 1))))
    return wide, facts


def test_history_is_capped_at_three_years() -> None:
    wide, facts = _since_2015()
    assert denial_rule(ctx(date(2022, 1, 1), date(2022, 1, 5), consent=wide,
                           facts=facts)) == "R12 history"
    assert denial_rule(ctx(date(2024, 1, 1), date(2024, 1, 5), consent=wide,
                           facts=facts)) is None


def test_history_counts_three_calendar_years_back() -> None:
    """Counted as 3 x 366 days, the floor let a request reach two days past three years."""
    wide, facts = _since_2015()
    # NOW is 2026-06-15 10:00 UTC: the floor is 2023-06-15 10:00 UTC.
    assert denial_rule(ctx(date(2023, 6, 14), date(2023, 6, 20), consent=wide,
                           facts=facts)) == "R12 history"
    assert denial_rule(ctx(date(2023, 6, 16), date(2023, 6, 20), consent=wide,
                           facts=facts)) is None


def test_supplier_sees_a_point_only_during_its_contract() -> None:
    supplier = replace(CONSENT, recipient_is_supplier=True)
    assert denial_rule(ctx(consent=supplier)) == "R13 supplier contract"
    contract = replace(FACTS, supplier_contract=Period(day(date(2026, 5, 4))))
    assert denial_rule(ctx(consent=supplier, facts=contract)) == "R13 supplier contract"
    assert denial_rule(ctx(date(2026, 5, 4), date(2026, 5, 8), consent=supplier,
                           facts=contract)) is None


# --- the policy itself ------------------------------------------------------------------------

def test_a_policy_missing_a_rule_denies_everything() -> None:
    incomplete = AllOf([c for c in default_policy().checks if c.rule != "R8 occupancy"])
    denial = incomplete.check(ctx())
    assert denial is not None
    assert denial.rule == "policy"
    assert "R8 occupancy" in denial.detail


def test_the_default_policy_has_every_required_rule() -> None:
    assert {c.rule for c in default_policy().checks} == REQUIRED_RULES


@pytest.mark.parametrize(("hour", "day_start", "last_day"), [
    (3, 0, date(2026, 6, 14)),   # electricity: yesterday has ended
    (3, 6, date(2026, 6, 13)),   # gas at 03:00: yesterday's gas day runs until 06:00 today
    (5, 6, date(2026, 6, 13)),
    (6, 6, date(2026, 6, 14)),   # gas from 06:00: yesterday's gas day has ended
    (23, 6, date(2026, 6, 14)),
])
def test_the_allowed_window_ends_with_the_last_metering_day_that_has_ended(
        hour: int, day_start: int, last_day: date) -> None:
    """A denial's ``allowed`` window is one the recipient can ask for next: never a day whose
    metering day is still running (the gas day runs 06:00 to 06:00, reference §2.4; ADICT and
    the adapters publish up to the last complete one)."""
    at = datetime(2026, 6, 15, hour, 0, tzinfo=PARIS)
    gas = replace(ctx(date(2026, 6, 1), date(2026, 6, 8), at=at).request, day_start=day_start)
    consent = replace(CONSENT, data_window=Period(day(DATA_START), None))
    denied = default_policy().check(AccessContext(
        replace(gas, window=DayRange(date(2020, 1, 1), date(2026, 6, 8)).to_period(PARIS)),
        replace(TOKEN, expires_at=at + timedelta(hours=1)), consent, FACTS))
    assert denied is not None
    assert denied.rule == "R6 data window"  # it starts before the consent's data
    assert denied.allowed is not None
    assert denied.allowed["window"]["end"] == day(last_day + timedelta(days=1)).isoformat()

"""Pure pieces of the portal: chart geometry, formatting, counts in words, reset codes,
narrowing rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.cascade import EndCause, UpstreamReport
from consent.errors import DomainError, NotPermitted
from consent.identity import new_reset_code, normalise_code
from consent.models import Consent
from consent.services.decisions import Narrowing, narrower_draft
from consent.services.reviews import check_online_path
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Resolution
from proxy.portal.charts import NARROW, WIDE, Column, Segment, layout, nice_step
from proxy.portal.fields import FieldErrors
from proxy.portal.format import Formatter
from proxy.portal.reasons import Reason, explain
from proxy.web.i18n import MESSAGES, count_keys, translate_count
from proxy.web.lang import LANGS, ONE, Lang
from tests.portal.world import ALICE_PCE, ALICE_PRM

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


@given(st.floats(min_value=0.001, max_value=1e9))
def test_gridline_steps_are_round_and_cover_the_top(top: float) -> None:
    step = nice_step(top)
    mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
    assert round(mantissa, 6) in (1.0, 2.0, 5.0, 10.0)
    assert 1.5 <= top / step <= 10  # between two and ten gridlines


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=120))
def test_bars_stay_inside_the_plot(values: list[float]) -> None:
    columns = [Column(str(i), str(i), (Segment(v, "", str(v)),)) for i, v in enumerate(values)]
    for size in (WIDE, NARROW):
        drawn = layout(columns, size, lambda v: f"{v:.0f}")
        assert drawn.left >= 40
        for rect in drawn.rects:
            assert drawn.left <= rect.x
            assert rect.x + rect.w <= size[0]
            assert rect.y >= 0
            assert rect.y + rect.h <= drawn.axis_y + 0.5
        assert len(drawn.ticks) <= max(1, size[0] // 56) + 1


def test_stacked_segments_and_counts() -> None:
    columns = [Column("a", "a", (Segment(2, "", "2"), Segment(1, "denied", "1")))]
    drawn = layout(columns, WIDE, lambda v: f"{v:.0f}", counts=True)
    served, denied = drawn.rects
    assert denied.y + denied.h == pytest.approx(served.y)  # stacked on top
    assert [label.text for _y, label in drawn.grid] == ["0", "1", "2", "3"]


def test_formats_per_language() -> None:
    fr, en = Formatter("fr"), Formatter("en")
    instant = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 in Paris, the DST night
    assert fr.instant(instant) == "29 mars 2026 03:30"
    assert en.instant(instant) == "29 Mar 2026 03:30"
    assert fr.kwh(1234567) == "1\u202f235\u00a0kWh"
    assert en.kwh(12345) == "12.3\u00a0kWh"
    assert fr.kwh(0) == "0\u00a0kWh"
    assert fr.through(datetime(2026, 11, 21, 23, tzinfo=UTC)) == "21 nov. 2026"  # Paris 00:00
    assert fr.size(214) == "214\u00a0octets"
    assert en.size(3 * 1024 * 1024) == "3.0\u00a0MiB"


def test_a_count_of_one_is_singular_in_both_languages() -> None:
    """The pages said "1 days", "Show the 1 ended access grants", "1 jours", "Afficher les 1
    accès terminés": every count message had one form. French takes the singular below 2
    ("0 jour"), English for exactly 1 ("0 days")."""
    assert translate_count("en", "portal.terms.history_days", 1) == "1 day"
    assert translate_count("en", "portal.terms.history_days", 0) == "0 days"
    assert translate_count("fr", "portal.terms.history_days", 1) == "1 jour"
    assert translate_count("fr", "portal.terms.history_days", 0) == "0 jour"
    assert translate_count("fr", "portal.terms.history_days", 2) == "2 jours"
    assert translate_count("en", "portal.consent.days_max", 1) == "(1 day at most)"
    assert translate_count("fr", "portal.history.values", 1) == "(1 valeur)"
    assert translate_count("en", "portal.history.summary", 1, served="a", denied="b") == (
        "Over the last 1 day: a, b.")
    assert "portal.overview.ended_show" in count_keys()


@given(st.sampled_from(count_keys()), st.sampled_from(LANGS), st.integers(0, 10**9))
def test_every_count_message_follows_its_languages_rule(key: str, lang: Lang, n: int) -> None:
    fields = {"served": "S", "denied": "D"}
    text = translate_count(lang, key, n, **fields)
    one, other = (MESSAGES[k][lang].format(n=n, **fields) for k in (key + ONE, key))
    singular = n == 1 or (lang == "fr" and n == 0)
    assert text == (one if singular else other)
    assert str(n) in text  # every form names the number (French "0 jour" is singular too)


@pytest.mark.parametrize(("recorded", "shown"), [
    ("access period over", Reason(key="portal.reason.expired")),
    ("validity over", Reason(key="portal.reason.expired")),
    ("superseded", Reason(key="portal.reason.superseded")),
    ("withdrawn on the household page", Reason()),
    ("", Reason()),
    (None, Reason()),
    ("occupant moved out (R9)", Reason(key="portal.reason.moved_out")),
    ("occupant moved out (R9): keys handed back", Reason(key="portal.reason.moved_out",
                                                        quoted="keys handed back")),
    ("upstream authorisation dc-1 is ended: its period is over (DSO: TERMINE)",
     Reason(key="portal.reason.upstream.ended")),
    ("upstream authorisation dc-1 is ended: the household no longer holds the point (R9)",
     Reason(key="portal.reason.moved_out")),
    ("upstream authorisation dc-1 is active again",
     Reason(key="portal.reason.upstream.active_again")),
    ("upstream authorisation a-2 is suspended", Reason(key="portal.reason.upstream.suspended")),
    ("fraude signalée", Reason(quoted="fraude signalée")),
])
def test_recorded_reasons_are_translated_or_quoted(recorded: str | None, shown: Reason) -> None:
    """Reasons are recorded in English; the pages showed them raw (finding: "access period
    over" on a French page)."""
    assert explain(recorded) == shown
    assert shown.key is None or shown.key in MESSAGES


@pytest.mark.parametrize("state", [s for s in UpstreamState if s is not UpstreamState.REQUESTED])
@pytest.mark.parametrize("cause", [None, *EndCause])
def test_every_upstream_reason_passerelle_writes_is_translated(state: UpstreamState,
                                                               cause: EndCause | None) -> None:
    report = UpstreamReport(ALICE_PRM, "dc-1", state, cause, upstream_state="TERMINE")
    shown = explain(report.reason())
    assert shown.quoted is None
    assert shown.key in MESSAGES


@given(st.text(alphabet="-  ", max_size=4))
def test_reset_codes_are_read_forgivingly(noise: str) -> None:
    code = new_reset_code()
    assert len(code) == 19
    typed = noise + code.lower().replace("0", "o").replace("1", "l").replace("-", " ")
    assert normalise_code(typed) == code


@pytest.mark.parametrize("typed", ["", "ABCD", "ABCD-EFGH-IJKL-MNOU", "A" * 17])
def test_malformed_reset_codes_match_nothing(typed: str) -> None:
    assert normalise_code(typed) == ""


def _consent() -> Consent:
    return Consent(id="c1", arrangement_id="a1", grantor_id="h", recipient_id="r",
                   datasets=["daily_consumption", "consumption_load_curve"],
                   max_resolution=Resolution.PT30M, valid_from=NOW,
                   valid_until=NOW + timedelta(days=365), history_days=730,
                   purpose="energy_monitoring", legal_basis="consent", state="active",
                   created_at=NOW, updated_at=NOW, version=2)


@pytest.mark.parametrize(("wanted", "field"), [
    (Narrowing(points=[]), "points"),
    (Narrowing(points=[ALICE_PCE]), "points"),
    (Narrowing(datasets=[Dataset.DAILY_PRODUCTION]), "datasets"),
    (Narrowing(max_resolution=Resolution.PT10M), "max_resolution"),
    (Narrowing(history_days=731), "history_days"),
    (Narrowing(valid_until=NOW + timedelta(days=400)), "valid_until"),
    (Narrowing(valid_until=NOW), "valid_until"),
    (Narrowing(), "consent"),
])
def test_a_narrowing_can_only_take_away(wanted: Narrowing, field: str) -> None:
    with pytest.raises(DomainError) as raised:
        narrower_draft(_consent(), [ALICE_PRM], wanted, NOW)
    assert raised.value.extra["field"] == field


def test_a_narrowing_keeps_what_it_does_not_name() -> None:
    draft = narrower_draft(_consent(), [ALICE_PRM], Narrowing(max_resolution=Resolution.P1D),
                           NOW)
    assert draft.arrangement_id == "a1"
    assert list(draft.datasets) == [Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE]
    assert draft.max_resolution is Resolution.P1D
    assert (draft.history_days, draft.valid_until) == (730, NOW + timedelta(days=365))
    assert replace(draft, max_resolution=Resolution.PT30M).points == [ALICE_PRM]
    assert date.fromisoformat("2026-11-22") == NOW.date()


def test_dropping_the_load_curve_drops_the_fine_resolution_with_it() -> None:
    draft = narrower_draft(_consent(), [ALICE_PRM],
                           Narrowing(datasets=[Dataset.DAILY_CONSUMPTION]), NOW)
    assert draft.max_resolution is Resolution.P1D


@pytest.mark.parametrize(("what", "holder"), [("consent", "recipient"),
                                              ("mandate", "mandatary")])
def test_an_r14_refusal_counting_held_points_has_its_own_message(what: str,
                                                                 holder: str) -> None:
    """R14 counts the points already held: the form says so, not "at most two" or a generic
    error, for a consent as for a mandate."""
    errors = FieldErrors()
    with pytest.raises(NotPermitted) as refused:
        check_online_path(["c"], ["a", "b"], what, holder)
    assert "already holds 2" in refused.value.detail
    errors.from_domain(refused.value)
    assert errors["points"] == f"portal.err.points.r14_{what}_held"
    assert all(MESSAGES[errors["points"]][lang] for lang in LANGS)

"""The shared vocabularies: datasets, resolutions, purposes, legal bases, upstream states."""

from __future__ import annotations

import pytest

from consent.errors import UnknownVocabulary
from consent.identifiers import Source
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.upstream import UpstreamKind, UpstreamState
from consent.vocabulary import DATASETS, MAX_HISTORY, Dataset, Resolution, describe


def test_every_dataset_has_a_spec_and_a_documented_row() -> None:
    assert set(DATASETS) == set(Dataset)
    table = describe()
    for dataset in Dataset:
        assert f"`{dataset.value}`" in table


def test_sub_daily_curves_need_explicit_consent() -> None:  # R12
    assert Dataset.CONSUMPTION_LOAD_CURVE.spec.sensitive
    assert not Dataset.DAILY_CONSUMPTION.spec.sensitive
    assert MAX_HISTORY.days >= 3 * 365


def test_resolutions_are_ordered_and_parsed() -> None:
    assert Resolution.PT15M.finer_than(Resolution.PT1H)
    assert not Resolution.P1D.finer_than(Resolution.PT30M)
    assert Resolution.parse("PT60M") is Resolution.PT1H
    assert Dataset.CONSUMPTION_LOAD_CURVE.spec.can_aggregate_to(Resolution.P1D)
    assert not Dataset.CONTRACT.spec.can_aggregate_to(Resolution.P1D)


@pytest.mark.parametrize(("parse", "bad"), [
    (Dataset.parse, "weather"), (Resolution.parse, "PT5M"), (Purpose.parse, "marketing"),
    (LegalBasis.parse, "because"), (DataRole.parse, "owner"), (Source.parse, "ores"),
])
def test_unknown_terms_are_refused_listing_the_known_ones(parse: object, bad: str) -> None:
    with pytest.raises(UnknownVocabulary) as caught:
        parse(bad)  # type: ignore[operator]
    assert bad in caught.value.detail
    assert "known" in caught.value.detail


def test_every_purpose_is_described() -> None:
    assert all(p.description.endswith(".") for p in Purpose)


def test_upstream_states_and_kinds() -> None:
    assert [s for s in UpstreamState if s.usable] == [UpstreamState.ACTIVE]
    assert {s for s in UpstreamState if s.final} == {
        UpstreamState.ENDED, UpstreamState.REVOKED, UpstreamState.REFUSED}
    assert {UpstreamKind.for_source(s) for s in Source} == set(UpstreamKind)

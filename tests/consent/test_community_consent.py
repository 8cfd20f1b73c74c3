"""R4: a community consent releases a point only into its community's aggregate; an
individual consent, as every consent before the distinction, releases it on its own."""

from __future__ import annotations

from dataclasses import replace

from consent.checks import REQUIRED_RULES, default_policy
from consent.community_consent import RULE, CommunityView
from consent.purposes import ConsentView
from tests.consent.test_checks import CONSENT, ctx

COMMUNITY = replace(CONSENT, view=ConsentView.COMMUNITY, community_id="pmo-1")


def alone_or_in(community: str | None, consent=COMMUNITY):  # type: ignore[no-untyped-def]
    c = ctx(consent=consent)
    return replace(c, request=replace(c.request, community_id=community))


def test_an_individual_consent_reads_alone_and_in_any_aggregate() -> None:
    for community in (None, "pmo-1", "pmo-2"):
        assert CommunityView().check(alone_or_in(community, CONSENT)) is None
        assert default_policy().check(alone_or_in(community, CONSENT)) is None


def test_a_community_consent_reads_only_inside_its_own_community() -> None:
    assert default_policy().check(alone_or_in("pmo-1")) is None
    for community in (None, "pmo-2"):
        denial = default_policy().check(alone_or_in(community))
        assert denial is not None
        assert denial.rule == RULE == "R4 community consent"
        assert denial.allowed == {"community": "pmo-1", "view": "community"}
        assert "aggregate" in denial.detail
        assert "never on its own" in denial.detail


def test_missing_input_denies() -> None:
    assert CommunityView().check(ctx(consent=None)) is not None
    nameless = replace(COMMUNITY, community_id=None)
    assert CommunityView().check(alone_or_in(None, nameless)) is not None
    assert CommunityView().check(alone_or_in("pmo-1", nameless)) is not None


def test_the_rule_is_required_of_every_policy() -> None:
    assert RULE in REQUIRED_RULES

"""R4: individual consent versus community consent, on the running app.

The reviewer's finding (review 16, ``test_r4_k_bypass``): with 4 households and k = 5 the
community aggregate is refused (``R4 community k``), yet the organiser's same token read each
household alone through /api/v1/points/..., because consents did not tell individual from
community consent. Households ``h2``..``h4`` here give the organiser a *community* consent:
their points feed the community's aggregate and nothing else; ``h5`` keeps an individual
consent, and is still readable alone.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest

from consent.errors import DomainError, NotFound
from consent.evidence.records import Authentication, Notice
from consent.evidence.selection import Selection
from consent.evidence.verify import Expectation, verify_bundle
from consent.lifecycle import ActorRole
from consent.purposes import ConsentView, Purpose
from consent.services import Actor, ConsentDraft, ConsentService
from consent.services.communities import CommunityService
from consent.vocabulary import Dataset, Resolution
from proxy.keys import consent_service_key, evidence_key
from tests.rules.app_world import POINTS, WINDOW, RulesWorld

DAILY = "daily_consumption"


async def _community_consent(w: RulesWorld, n: int, community: str | None = None) -> str:
    """``h{n}`` replaces its individual consent to ``pmo`` by a community consent."""
    consents = ConsentService(w.db, w.clock)
    await consents.withdraw(w.actor(f"h{n}"), w.consents[f"h{n}-pmo"])
    given = await consents.give(w.actor(f"h{n}"), ConsentDraft(
        grantor_id=w.parties[f"h{n}"], recipient_id=w.apps["pmo"], points=[POINTS[n]],
        datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.COLLECTIVE_SELF_CONSUMPTION,
        valid_until=w.clock.now() + timedelta(days=300), max_resolution=Resolution.P1D,
        history_days=365, view=ConsentView.COMMUNITY,
        community_id=community or w.community_id))
    assert given.row.view is ConsentView.COMMUNITY
    w.consents[f"h{n}-pmo"] = given.row.id
    return given.row.id


async def _aggregate(w: RulesWorld, community: str) -> tuple[int, dict[str, object]]:
    status, body = await w.call("GET", f"/api/v1/communities/{community}/datasets/{DAILY}",
                                w.tokens["pmo"], params=WINDOW)
    return status, body


async def test_the_k_denial_is_no_longer_bypassed_by_single_reads(
        app_world: RulesWorld) -> None:
    """The reviewer's test, with members who gave community consent."""
    w = app_world
    for n in range(2, 5):
        await _community_consent(w, n)
    consents = ConsentService(w.db, w.clock)
    for name in ("h0", "h1"):
        await consents.withdraw(w.actor(name), w.consents[f"{name}-pmo"])
    status, body = await _aggregate(w, w.community_id)
    assert (status, body["rule"]) == (403, "R4 community k")  # 4 households < k = 5
    served = [(await w.read("pmo", POINTS[n]))[0] for n in range(2, 6)]
    assert served == [403, 403, 403, 200]  # h5 gave an individual consent: readable alone
    status, body = await w.read("pmo", POINTS[2])
    assert body["rule"] == "R4 community consent"
    assert body["allowed"] == {"community": w.community_id, "view": "community"}
    assert "aggregate" in body["detail"]
    # The compatible API says no as well, with Data Connect's words and the rule.
    status, body = await w.call("GET", "/compat/enedis/metering_data_dc/v5/daily_consumption",
                                w.tokens["pmo"],
                                params={"usage_point_id": POINTS[3].identifier, **WINDOW})
    assert (status, body["rule"]) == (403, "R4 community consent")
    assert body["allowed"]["community"] == w.community_id
    # The organiser's listing says which consents are community ones.
    status, body = await w.call("GET", "/api/v1/points", w.tokens["pmo"])
    views = {p["point"]: (p["view"], p["community"]) for p in body["points"]}
    assert views[str(POINTS[2])] == ("community", w.community_id)
    assert views[str(POINTS[5])] == ("individual", None)


async def test_community_and_individual_consents_both_count_in_the_aggregate(
        app_world: RulesWorld) -> None:
    w = app_world
    for n in range(0, 3):
        await _community_consent(w, n)
    status, body = await _aggregate(w, w.community_id)
    assert status == 200
    assert body["members"] == 6
    served = [e for e in await w.events() if e["recipient_id"] == w.apps["pmo"]
              and e["outcome"] == "served" and e["point"] == str(POINTS[0])]
    assert served
    assert all("aggregated" in (e["reason"] or "") for e in served)


async def test_the_evidence_tells_a_community_consent_and_its_aggregate_reads(
        app_world: RulesWorld) -> None:
    """R4 offline (review 17 item 1): the consent's signed record names its view and
    community, and each member read of the aggregate names the community in its leaf, so
    the consent's bundle verifies with every served read inside, and an auditor could tell a
    point served on its own (tests/evidence/test_bundle.py has that finding)."""
    w = app_world
    consents = w.client.app[consent_service_key]  # the app's: its changes are signed records

    def household(n: int) -> Actor:
        return Actor(ActorRole.SUBJECT, party_id=w.parties[f"h{n}"],
                     authentication=Authentication("password", f"h{n}", w.clock.now()),
                     notice=Notice("oauth-consent/4", "ab" * 32, "fr"))

    await consents.withdraw(household(2), w.consents["h2-pmo"])
    given = await consents.give(household(2), ConsentDraft(
        grantor_id=w.parties["h2"], recipient_id=w.apps["pmo"], points=[POINTS[2]],
        datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.COLLECTIVE_SELF_CONSUMPTION,
        valid_until=w.clock.now() + timedelta(days=300), max_resolution=Resolution.P1D,
        history_days=365, view=ConsentView.COMMUNITY, community_id=w.community_id))
    consent_id = given.row.id
    assert (await _aggregate(w, w.community_id))[0] == 200
    assert (await w.read("pmo", POINTS[2]))[0] == 403  # on its own: denied, not served
    evidence = w.client.app[evidence_key]
    out = io.BytesIO()
    await evidence.export(Selection(consent_id=consent_id), out, actor="auditor:test")
    report = verify_bundle(io.BytesIO(out.getvalue()), expect=Expectation(consent_id=consent_id),
                           trusted=await evidence.keys.history())
    assert report.ok, report.render()
    entries = zipfile.ZipFile(io.BytesIO(out.getvalue())).read("log/entries.tsv").decode()
    payloads = [json.loads(line.split("\t")[2]) for line in entries.splitlines()]
    records = [p["record"] for p in payloads if "record" in p]
    assert {(r["view"], r["community_id"]) for r in records} == {
        ("community", w.community_id)}
    served = [p for p in payloads if p.get("outcome") == "served"]
    assert [p.get("community_id") for p in served] == [w.community_id]
    assert [p.get("rule") for p in payloads if p.get("outcome") == "denied"] == [
        "R4 community consent"]


async def test_a_community_consent_feeds_its_own_community_only(app_world: RulesWorld) -> None:
    """Re-sharing only as far as the initial consent allows: another community of the same
    organiser does not get the point."""
    w = app_world
    operator_actor = Actor(ActorRole.OPERATOR, party_id=w.parties["alex"])
    communities = CommunityService(w.db, w.clock, min_members=2)
    other = await communities.create(operator_actor, name="Autre opération",
                                     organiser_id=w.apps["pmo"], min_members=2)
    for n in (0, 1):
        await communities.add_member(operator_actor, other.id, w.parties[f"h{n}"], POINTS[n])
    status, _ = await _aggregate(w, other.id)
    assert status == 200  # individual consents: both included
    await _community_consent(w, 0)  # to the first community only
    status, body = await _aggregate(w, other.id)
    assert (status, body["rule"]) == (403, "R4 community k")  # h0 left out: 1 household


async def test_a_community_consent_names_a_community_of_its_recipient(
        app_world: RulesWorld) -> None:
    w = app_world
    consents = ConsentService(w.db, w.clock)

    def draft(app: str, **extra: object) -> ConsentDraft:
        return ConsentDraft(
            grantor_id=w.parties["h1"], recipient_id=w.apps[app], points=[POINTS[1]],
            datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.COLLECTIVE_SELF_CONSUMPTION
            if app == "pmo" else Purpose.SUPPLY_CONTRACT,
            valid_until=w.clock.now() + timedelta(days=30), **extra)  # type: ignore[arg-type]

    with pytest.raises(DomainError) as error:
        await consents.give(w.actor("h1"), draft("pmo", view="community"))
    assert error.value.extra["field"] == "community_id"
    with pytest.raises(NotFound):  # a community the recipient does not run
        await consents.give(w.actor("h1"), draft("volt", view="community",
                                                 community_id=w.community_id))
    with pytest.raises(DomainError):  # an individual consent names no community
        await consents.give(w.actor("h1"), draft("pmo", community_id=w.community_id))


async def test_staff_views_say_which_view_and_which_community(app_world: RulesWorld) -> None:
    """R4 on the staff side: support sees, for each consent of a household, whether it is
    individual or community, and the community's name (not only its id)."""
    w = app_world
    community = await _community_consent(w, 2)
    status, body = await w.staff("sam", "GET", f"/staff/households/{w.parties['h2']}")
    assert status == 200, body
    shown = {c["id"]: c for c in body["consents"]}
    given = shown[w.consents["h2-pmo"]]
    assert (given["view"], given["community"]) == (
        "community", {"id": w.community_id, "name": "Soleil partagé"})
    assert community == given["id"]
    ended = [c for c in body["consents"] if c["state"] == "withdrawn"]
    assert [(c["view"], c["community"]) for c in ended] == [("individual", None)]

"""The market rules on the data path, through the running app: community aggregates (R4),
reads under a mandate (R10, R11), suppliers (R13), a change of occupant (R9)."""

from __future__ import annotations

from datetime import date, timedelta

from consent.lifecycle import ActorRole
from consent.models import MandateScope
from consent.purposes import Purpose
from consent.services import Actor, ConsentDraft, ConsentService, MandateDraft, MandateService
from consent.services.occupancy import OccupancyService
from consent.services.queries import points_by_ref
from consent.services.registry import add_upstream_authorisation
from consent.services.supply import SupplyService
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Resolution
from proxy.data.ratelimit import RecipientLimits
from proxy.keys import data_service_key
from tests.rules.app_world import MOVE_IN, POINTS, WINDOW, RulesWorld, midnight


def _community(world: RulesWorld, dataset: str = "daily_consumption") -> str:
    return f"/api/v1/communities/{world.community_id}/datasets/{dataset}"


async def test_a_community_aggregate_needs_k_members(app_world_any: RulesWorld) -> None:
    w = app_world_any
    status, body = await w.call("GET", _community(w), w.tokens["pmo"], params=WINDOW)
    assert status == 200, body
    assert body["members"] == 6
    assert len(body["values"]) == 7
    singles = [await w.read("pmo", POINTS[n]) for n in range(6)]
    first_day = sum(int(s[1]["values"][0]["value"]) for s in singles)
    assert int(body["values"][0]["value"]) == first_day
    before = len(await w.events())

    consents = ConsentService(w.db, w.clock)
    await consents.withdraw(w.actor("h0"), w.consents["h0-pmo"])
    status, body = await w.call("GET", _community(w), w.tokens["pmo"], params=WINDOW)
    assert (status, body["members"]) == (200, 5)  # k = 5: still served
    events = (await w.events())[before:]
    assert [e["outcome"] for e in events if e["point"] != f"community:{w.community_id}"] == [
        "denied", "served", "served", "served", "served", "served"]  # one per member read

    await consents.withdraw(w.actor("h1"), w.consents["h1-pmo"])
    status, body = await w.call("GET", _community(w), w.tokens["pmo"], params=WINDOW)
    assert status == 403
    assert body["rule"] == "R4 community k"
    assert body["allowed"] == {"min_members": 5}
    assert "values" not in body


async def test_a_community_aggregate_is_one_request_of_the_organisers_rate(
        app_world: RulesWorld) -> None:
    """The organiser's rate limit counts its requests, not the member reads behind one
    aggregate (found by review: with fewer tokens left than members, members were left out
    as "rate limit" and the aggregate refused as `R4 community k`, or served short)."""
    w = app_world
    w.client.app[data_service_key].limits = RecipientLimits.in_memory(0.01, 2)
    status, body = await w.call("GET", _community(w), w.tokens["pmo"], params=WINDOW)
    assert (status, body["members"]) == (200, 6), body
    assert "rate limit" not in [e["rule"] for e in await w.events()]
    await w.call("GET", _community(w), w.tokens["pmo"], params=WINDOW)
    status, body = await w.call("GET", _community(w), w.tokens["pmo"], params=WINDOW)
    assert (status, body["type"].rsplit("/", 1)[-1]) == (429, "rate-limited"), body
    event = (await w.events())[-1]
    assert (event["rule"], event["point"]) == ("rate limit", f"community:{w.community_id}")


async def test_the_community_dataset_is_the_organisers_only(app_world_any: RulesWorld) -> None:
    w = app_world_any
    status, _ = await w.call("GET", _community(w), w.tokens["volt"], params=WINDOW)
    assert status == 404
    status, body = await w.call("GET", _community(w, "daily_max_power"), w.tokens["pmo"],
                                params=WINDOW)
    assert status == 400, body  # a peak cannot be summed across households


async def test_the_cpas_reads_under_its_standing_mandate(app_world_any: RulesWorld) -> None:
    w = app_world_any
    status, body = await w.read("cpas", POINTS[6])
    assert status == 200, body
    assert len(body["values"]) == 7
    [event] = [e for e in await w.events() if e["recipient_id"] == w.apps["cpas"]]
    assert (event["mandate_id"], event["consent_id"]) == (w.mandate_id, None)
    status, body = await w.read("cpas", POINTS[7])  # h6's other point: not in the mandate
    assert (status, body["rule"]) == (403, "R6 consent active")
    status, body = await w.read("cpas", POINTS[0])  # not assisted: no mandate at all
    assert (status, body["rule"]) == (403, "R6 consent active")
    await MandateService(w.db, w.clock).withdraw(w.actor("h6"), w.mandate_id)
    status, body = await w.read("cpas", POINTS[6])
    assert (status, body["rule"]) == (403, "R6 consent active")
    assert "mandate" in body["detail"]


async def test_a_consent_ended_since_does_not_hide_the_standing_mandate(
        app_world_any: RulesWorld) -> None:
    """h6 gives the CPAS a consent of its own and withdraws it: the CPAS still reads under its
    standing mandate (R11); once the mandate ends too, the denial speaks of the consent."""
    w = app_world_any
    consents = ConsentService(w.db, w.clock)
    given = await consents.give(w.actor("h6"), ConsentDraft(
        grantor_id=w.parties["h6"], recipient_id=w.apps["cpas"], points=[POINTS[6]],
        datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.SOCIAL_SUPPORT,
        valid_until=w.clock.now() + timedelta(days=30), max_resolution=Resolution.P1D,
        history_days=365))
    status, body = await w.read("cpas", POINTS[6])
    assert status == 200, body
    await consents.withdraw(w.actor("h6"), given.row.id)
    status, body = await w.read("cpas", POINTS[6])
    assert status == 200, body
    events = [e for e in await w.events() if e["recipient_id"] == w.apps["cpas"]]
    assert [(e["consent_id"], e["mandate_id"]) for e in events] == [
        (given.row.id, None), (None, w.mandate_id)]
    await MandateService(w.db, w.clock).withdraw(w.actor("h6"), w.mandate_id)
    status, body = await w.read("cpas", POINTS[6])
    assert (status, body["rule"]) == (403, "R6 consent active")
    assert "revoked" in body["detail"]
    assert "mandate" not in body["detail"]


async def test_a_relatives_mandate_reads_only_its_scope_and_term(app_world_any: RulesWorld) -> None:
    w = app_world_any
    mandates = MandateService(w.db, w.clock)
    await mandates.give(w.actor("h2"), MandateDraft(
        w.parties["h2"], w.parties["relative"], MandateScope.READ_DATA, [POINTS[2]],
        [Dataset.DAILY_CONSUMPTION], valid_until=w.clock.now() + timedelta(days=2)))
    assert (await w.read("relative", POINTS[2]))[0] == 200
    status, body = await w.read("relative", POINTS[2], "consumption_load_curve")
    assert status == 403  # beyond the mandate's datasets (and the app's registration)
    w.clock.advance(timedelta(days=2))
    status, body = await w.read("relative", POINTS[2])
    assert (status, body["rule"]) == (403, "R6 consent active")
    assert "mandate does not cover the present instant" in body["detail"]


async def test_a_manage_only_mandate_does_not_read(app_world_any: RulesWorld) -> None:
    w = app_world_any
    await MandateService(w.db, w.clock).give(w.actor("h3"), MandateDraft(
        w.parties["h3"], w.parties["relative"], MandateScope.MANAGE_CONSENTS, [POINTS[3]],
        [Dataset.DAILY_CONSUMPTION], valid_until=w.clock.now() + timedelta(days=20)))
    status, body = await w.read("relative", POINTS[3])
    assert (status, body["rule"]) == (403, "R6 consent active")


async def test_a_supplier_reads_only_during_its_contract_and_never_payment_signals(
        app_world_any: RulesWorld) -> None:
    w = app_world_any
    status, body = await w.read("volt", POINTS[1], "contract")
    assert status == 200, body
    assert body["fields"]["supplier"] == "Volt"
    assert body["fields"]["contract_status"] is None  # DEFAUT_PAIEMENT never leaves
    assert body["fields"]["meter_type"] is None  # nor does the budget meter
    assert "PAIEMENT" not in str(body)
    assert "budget" not in str(body)
    assert (await w.read("volt", POINTS[1]))[0] == 200
    # The DSO reports another supplier since yesterday: Volt's contract ended then.
    await SupplyService(w.db, w.clock).report(Actor.upstream(), POINTS[1], "Watt & Co",
                                              w.clock.now() - timedelta(days=1))
    status, body = await w.read("volt", POINTS[1])
    assert (status, body["rule"]) == (403, "R13 supplier contract")
    status, body = await w.read("volt", POINTS[1], "contract")
    assert (status, body["rule"]) == (403, "R13 supplier contract")
    [*_, event] = await w.events()
    assert (event["outcome"], event["rule"]) == ("denied", "R13 supplier contract")


async def test_a_supplier_contract_renewed_without_a_gap_covers_a_window_across_both(
        app_world_any: RulesWorld) -> None:
    """The DSO ends Volt's contract on 2026-11-04 and reports a new one of Volt from that
    instant: two rows, no day without a contract, so the week across them is Volt's (R13)."""
    w = app_world_any
    supply = SupplyService(w.db, w.clock)
    renewal = midnight(date(2026, 11, 4))
    await supply.end(Actor.upstream(), POINTS[1], renewal)
    await supply.report(Actor.upstream(), POINTS[1], "VOLT-1", renewal)
    status, body = await w.read("volt", POINTS[1])
    assert status == 200, body
    await supply.end(Actor.upstream(), POINTS[1], midnight(date(2026, 11, 6)))
    await supply.report(Actor.upstream(), POINTS[1], "VOLT-1", midnight(date(2026, 11, 7)))
    status, body = await w.read("volt", POINTS[1])  # a day without a contract: not Volt's
    assert (status, body["rule"]) == (403, "R13 supplier contract"), body
    # What is allowed, in the denial and in the points listing: from the current contract on.
    assert body["allowed"]["window"]["start"] == "2026-11-07T00:00:00+01:00", body
    status, listing = await w.call("GET", "/api/v1/points", w.tokens["volt"])
    assert status == 200, listing
    assert [p["data_from"] for p in listing["points"]] == ["2026-11-07T00:00:00+01:00"]
    status, body = await w.read("volt", POINTS[1], start="2026-11-07")
    assert status == 200, body


async def test_a_new_occupant_starts_with_nothing_and_its_recipients_see_no_past(
        app_world_any: RulesWorld) -> None:
    w = app_world_any
    w.clock.advance(timedelta(days=20))
    await w.relogin("alex")
    left = w.clock.now() - timedelta(days=10)
    status, body = await w.staff("alex", "POST", f"/staff/points/{POINTS[3]}/move-out",
                                 json_body={"at": left.isoformat(), "reason": "DSO notice"})
    assert status == 200, body
    assert body["consents"] == [w.consents["h3-pmo"]]
    assert body["memberships"] == 1
    status, body = await w.read("pmo", POINTS[3])
    assert status == 403
    assert body["rule"] == "R6 consent active"
    consents = ConsentService(w.db, w.clock)
    ended = await consents.get("default", w.consents["h3-pmo"])
    assert ended.ended_at == left
    # A new household moves in; it has shared nothing, then consents to the same app.
    occupancy = OccupancyService(w.db, w.clock, consents)
    moved_in = midnight((w.clock.now() - timedelta(days=3)).date())
    await occupancy.move_in(Actor(ActorRole.OPERATOR, party_id=w.parties["alex"]),
                            POINTS[3], w.parties["h6"], moved_in)
    status, _ = await w.read("pmo", POINTS[3])
    assert status == 403  # nothing shared yet
    async with w.db.session() as session:  # the new occupant's own upstream authorisation
        [point] = await points_by_ref(session, "default", [POINTS[3]])
        await add_upstream_authorisation(
            session, tenant_id="default", point=point, upstream_id="DC-new", valid_from=moved_in,
            valid_until=None, state=UpstreamState.ACTIVE, now=w.clock.now(),
            household_id=w.parties["h6"])
    await consents.give(w.actor("h6"), ConsentDraft(
        w.parties["h6"], w.apps["pmo"], [POINTS[3]], [Dataset.DAILY_CONSUMPTION],
        "collective_self_consumption", w.clock.now() + timedelta(days=30)))
    status, body = await w.read("pmo", POINTS[3])  # a week before the move-in
    assert (status, body["rule"]) == (403, "R8 occupancy")
    start = moved_in.date().isoformat()
    end = (w.clock.now().date()).isoformat()
    status, body = await w.read("pmo", POINTS[3], start=start, end=end)
    assert status == 200, body


async def test_a_community_window_too_long_for_the_dso_is_a_400_not_a_k_refusal(
        app_world: RulesWorld) -> None:
    """Every member's read fails on the window itself (more than eight DSO calls): the
    organiser is told so, with ``max_days``, not that too few households take part."""
    from dataclasses import replace

    from consent.identifiers import Source
    from proxy.keys import data_service_key

    upstream = app_world.client.server.app[data_service_key].upstreams[Source.ENEDIS]
    upstream.capabilities = replace(upstream.capabilities, datasets=tuple(
        replace(d, max_window=timedelta(days=7)) if d.dataset is Dataset.DAILY_CONSUMPTION
        else d for d in upstream.capabilities.datasets))
    long = {"start": "2026-09-01", "end": "2026-10-28"}  # 57 days: 9 calls of 7 days
    status, body = await app_world.call("GET", _community(app_world),
                                        app_world.tokens["pmo"], params=long)
    assert status == 400, body
    assert body["type"].endswith("/invalid-period")
    assert body["max_days"] == 56


async def test_the_listings_come_a_page_of_consents_at_a_time(app_world_any: RulesWorld
                                                              ) -> None:
    """``after``/``limit``/``next`` (proxy.paging) over the organiser's six consents: two
    pages, no consent twice or missed, in the order of their ids; a malformed page is a 400
    naming its parameter, evidenced as invalid."""
    w = app_world_any
    token = w.tokens["pmo"]
    mine = sorted(v for k, v in w.consents.items() if k.endswith("-pmo"))
    for path, member in (("/api/v1/points", "points"), ("/api/v1/consents/current",
                                                         "consents")):
        status, first = await w.call("GET", path, token, params={"limit": "4"})
        assert status == 200, first
        status, second = await w.call("GET", path, token,
                                      params={"limit": "4", "after": first["next"]})
        assert status == 200, second
        key = "consent" if member == "points" else "id"
        seen = [item[key] for item in first[member] + second[member]]
        assert (len(first[member]), len(second[member])) == (4, 2)
        assert seen == mine
        assert first["next"] == seen[3]
        assert second["next"] is None
        status, whole = await w.call("GET", path, token)  # default: one page of 100
        assert (status, [item[key] for item in whole[member]], whole["next"]) == (
            200, mine, None)
        for bad, field in (({"after": ""}, "after"), ({"after": "x" * 37}, "after"),
                           ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit")):
            status, body = await w.call("GET", path, token, params=bad)
            assert (status, body.get("field")) == (400, field), (bad, body)
        assert (await w.events())[-1]["outcome"] == "invalid"


async def test_the_cache_keeps_from_the_households_move_in(
        app_world_any: RulesWorld) -> None:
    """What the day cache keeps (``needed_data``, on both backends): per point and dataset
    an active consent covers, from the granting household's move-in (not the consents' one
    year of history: the household's own page and a mandate read further back)."""
    w = app_world_any
    service = w.client.server.app[data_service_key]
    needed = await service.facts.needed_data(w.clock.now())
    assert needed[("default", POINTS[1], Dataset.DAILY_CONSUMPTION)] == MOVE_IN
    assert needed[("default", POINTS[1], Dataset.CONTRACT)] == MOVE_IN
    assert ("default", POINTS[1], Dataset.CONSUMPTION_LOAD_CURVE) not in needed


async def test_a_narrower_consent_does_not_hide_a_standing_mandate(
        app_world_any: RulesWorld) -> None:
    """R11: the CPAS reads h6's point under a standing mandate; h6 then also gives the CPAS
    a consent reading 7 days back. A September read the mandate allows is still served, and
    its event names the mandate (found by review: the consent alone decided, 403)."""
    w = app_world_any
    september = {"start": "2026-09-01", "end": "2026-09-08"}
    status, body = await w.read("cpas", POINTS[6], **september)
    assert status == 200, body
    await ConsentService(w.db, w.clock).give(w.actor("h6"), ConsentDraft(
        grantor_id=w.parties["h6"], recipient_id=w.apps["cpas"], points=[POINTS[6]],
        datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.SOCIAL_SUPPORT,
        valid_until=w.clock.now() + timedelta(days=30), max_resolution=Resolution.P1D,
        history_days=7))
    status, body = await w.read("cpas", POINTS[6], **september)
    assert status == 200, body
    [*_, event] = await w.events()
    assert (event["outcome"], event["mandate_id"], event["consent_id"]) == (
        "served", w.mandate_id, None)
    week = {"start": (w.clock.now().date() - timedelta(days=3)).isoformat(),
            "end": w.clock.now().date().isoformat()}
    status, body = await w.read("cpas", POINTS[6], **week)
    assert status == 200, body  # within the consent: the consent decides
    [*_, event] = await w.events()
    assert event["consent_id"] is not None

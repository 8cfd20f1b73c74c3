"""The staff API (R19): least privilege per role, every action journaled (done or denied),
paper and standing mandates reviewed by someone else, privileged actions by two people; mandate
changes recorded in the evidence log."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from sqlmodel import select

from consent.evidence.tables import LogEntryRow
from consent.models import ProofKind, Tenant
from consent.services import ConsentDraft, ConsentService, ProofUpload
from tests.rules.app_world import POINTS, RulesWorld

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


async def test_each_role_does_only_its_part(app_world: RulesWorld) -> None:
    w = app_world
    status, body = await w.staff("sam", "GET", f"/staff/households/{w.parties['h6']}")
    assert status == 200, body
    assert [m["id"] for m in body["mandates"]] == [w.mandate_id]
    assert "values" not in str(body)  # support sees consents and mandates, never data
    status, body = await w.staff("sam", "POST", f"/staff/mandates/{w.mandate_id}/revoke")
    assert (status, body["rule"]) == (403, "R19")
    assert (await w.staff("sam", "GET", "/staff/reviews"))[0] == 403
    assert (await w.staff("rita", "GET", "/staff/journal"))[0] == 403
    assert (await w.staff("aude", "POST", f"/staff/points/{POINTS[0]}/move-out",
                          json_body={}))[0] == 403
    status, body = await w.staff("marc", "GET", "/staff/me")
    assert body["permissions"] == ["act_as_mandatary"]
    # Staff tokens are not data tokens, and data tokens are not staff tokens.
    assert (await w.read("sam", POINTS[0]))[0] == 401
    assert (await w.call("GET", "/staff/me", w.tokens["pmo"]))[0] == 401
    assert (await w.call("GET", "/staff/me"))[0] == 401
    status, body = await w.staff("aude", "GET", "/staff/journal")
    assert status == 200
    denied = [e for e in body["entries"] if e["outcome"] == "denied"]
    assert [(e["action"], e["details"].get("rule")) for e in denied][:2] == [
        ("mandate.revoke", "R19"), ("reviews.list", "R19")]
    assert denied[0]["account_id"] is not None


async def test_a_cpas_asks_a_standing_mandate_and_a_reviewer_approves(
        app_world: RulesWorld) -> None:
    w = app_world
    status, body = await w.staff("marc", "POST", "/staff/mandates", json_body={
        "household_id": w.parties["h0"], "scope": "both", "points": [str(POINTS[0])],
        "datasets": ["daily_consumption"], "reason": "assisted since 2026-10"})
    assert status == 201, body
    mandate = body["id"]
    assert (body["mandatary_id"], body["standing"], body["state"]) == (
        w.parties["cpas"], True, "requested")
    status, body = await w.staff("marc", "POST", f"/staff/mandates/{mandate}/proofs",
                                 data=b"not a pdf", content_type="application/pdf")
    assert status == 415  # the content is sniffed, never trusted from its declared type
    status, proof = await w.staff("marc", "POST", f"/staff/mandates/{mandate}/proofs",
                                  data=PDF, content_type="application/pdf",
                                  params={"kind": "other"})
    assert status == 201, proof
    assert proof["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (await w.staff("marc", "POST", f"/staff/mandates/{mandate}/submit"))[0] == 200
    status, queue = await w.staff("rita", "GET", "/staff/reviews")
    [item] = queue["items"]
    assert (item["id"], [p["id"] for p in item["proofs"]]) == (mandate, [proof["id"]])
    status, data = await w.staff("rita", "GET", f"/staff/proofs/{proof['id']}")
    assert (status, data) == (200, PDF)
    status, body = await w.staff("marc", "POST", f"/staff/mandates/{mandate}/approve")
    assert (status, body["rule"]) == (403, "R19")  # the requester never approves
    status, body = await w.staff("rita", "POST", f"/staff/mandates/{mandate}/approve",
                                 json_body={"reason": "CPAS decision checked"})
    assert (status, body["state"]) == (200, "active")
    status, body = await w.staff("marc", "GET", f"/staff/mandates/{mandate}")
    assert [e["action"] for e in body["history"]] == ["request", "submit", "approve"]
    assert body["history"][0]["actor_party_id"] == w.parties["marc"]
    assert body["proofs"][0]["review_state"] == "accepted"
    async with w.db.session() as s:
        records = (await s.exec(select(LogEntryRow.kind).where(
            LogEntryRow.mandate_id == mandate))).all()
    assert records == ["mandate.record"] * 3


async def test_no_one_approves_a_review_they_uploaded(app_world: RulesWorld) -> None:
    w = app_world
    until = (w.clock.now() + timedelta(days=90)).isoformat()
    status, body = await w.staff("owen", "POST", "/staff/mandates", json_body={
        "household_id": w.parties["h2"], "mandatary_id": w.parties["relative"],
        "scope": "read_data", "points": [str(POINTS[2])], "datasets": ["daily_consumption"],
        "valid_until": until})
    assert status == 201, body
    mandate = body["id"]
    await w.staff("owen", "POST", f"/staff/mandates/{mandate}/proofs", data=PDF,
                  content_type="application/pdf")
    await w.staff("owen", "POST", f"/staff/mandates/{mandate}/submit")
    status, body = await w.staff("owen", "POST", f"/staff/mandates/{mandate}/approve")
    assert (status, body["rule"]) == (403, "R19")
    assert "segregation" in body["detail"]
    status, body = await w.staff("rita", "POST", f"/staff/mandates/{mandate}/approve")
    assert (status, body["state"]) == (200, "active")
    # The written path of a consent (R14) is reviewed the same way.
    consents = ConsentService(w.db, w.clock)
    asked = await consents.request(w.actor("h6"), ConsentDraft(
        w.parties["h6"], w.apps["pmo"], [POINTS[6], POINTS[7]], ["daily_consumption"],
        "collective_self_consumption", w.clock.now() + timedelta(days=30)))
    await consents.attach_proof(w.actor("h6"), asked.row.id, ProofUpload(
        ProofKind.SIGNED_MANDATE, "application/pdf", 10, "ab" * 32, "paper-form-1"))
    await consents.submit(w.actor("h6"), asked.row.id)
    status, body = await w.staff("rita", "POST", f"/staff/consents/{asked.row.id}/approve",
                                 json_body={"version": 1})
    assert status == 409
    assert body["type"].endswith("/concurrent-update")
    status, body = await w.staff("rita", "POST", f"/staff/consents/{asked.row.id}/approve",
                                 json_body={"version": 2})
    assert (status, body["state"]) == (200, "active")


async def test_privileged_actions_need_a_second_person(app_world: RulesWorld) -> None:
    w = app_world
    status, asked = await w.staff("alex", "POST", "/staff/privileged", json_body={
        "kind": "consent_change", "reason": "household asked by phone",
        "params": {"consent_id": w.consents["h5-pmo"], "action": "revoke"}})
    assert (status, asked["state"]) == (201, "pending")
    status, body = await w.staff("alex", "POST", f"/staff/privileged/{asked['id']}/approve")
    assert (status, body["rule"]) == (403, "R19")
    assert (await w.staff("sam", "POST", f"/staff/privileged/{asked['id']}/approve"))[0] == 403
    status, body = await w.staff("olga", "POST", f"/staff/privileged/{asked['id']}/approve")
    assert (status, body["state"], body["outcome"]["state"]) == (200, "executed", "revoked")
    assert (await w.read("pmo", POINTS[5]))[0] == 403

    w.clock.advance(timedelta(seconds=1))  # a rotation opens its key after the current one
    for kind, params in (("create_tenant", {"tenant_id": "flandre", "name": "Vlaanderen"}),
                         ("rotate_key", {"key": "evidence"})):
        status, asked = await w.staff("alex", "POST", "/staff/privileged", json_body={
            "kind": kind, "params": params, "reason": "quarterly"})
        assert status == 201, asked
        status, body = await w.staff("olga", "POST", f"/staff/privileged/{asked['id']}/approve")
        assert (status, body["state"]) == (200, "executed"), body
    async with w.db.session() as s:
        assert await s.get(Tenant, "flandre") is not None
    status, body = await w.staff("aude", "GET", "/staff/privileged")
    assert [r["state"] for r in body["requests"]] == ["executed"] * 3
    status, body = await w.staff("otto", "POST", "/staff/privileged", json_body={
        "kind": "create_tenant", "params": {"tenant_id": "x1", "name": "X"}, "reason": "r"})
    assert (status, body["rule"]) == (403, "R24")  # platform actions: the platform operator's


async def test_bad_input_is_a_clear_error_never_a_500(app_world: RulesWorld) -> None:
    w = app_world
    mandate = w.mandate_id
    cases = [
        ("marc", "POST", "/staff/mandates", {"household_id": 3}),
        ("marc", "POST", "/staff/mandates", {"household_id": w.parties["h0"], "scope": "all",
                                             "points": ["enedis:1"], "datasets": ["x"]}),
        ("marc", "POST", "/staff/mandates", {"household_id": w.parties["h0"], "scope": "both",
                                             "points": [str(POINTS[0])],
                                             "datasets": ["telepathy"]}),
        ("alex", "POST", f"/staff/points/{POINTS[0]}/move-out", {"at": "yesterday"}),
        ("alex", "POST", "/staff/points/not-a-point/move-out", {}),
        ("alex", "POST", f"/staff/points/{POINTS[0]}/supply", {"supplier_code": ""}),
        ("alex", "POST", "/staff/communities", {"name": "x", "organiser_id": w.apps["volt"],
                                                "min_members": "five"}),
        ("alex", "POST", "/staff/privileged", {"kind": "consent_change", "params": [],
                                               "reason": "x"}),
        ("rita", "POST", f"/staff/mandates/{mandate}/approve", {"version": "3"}),
        ("rita", "POST", f"/staff/mandates/{mandate}/approve", {"reason": 42}),
        # Review 2: near datetime's limits, the conversion to UTC overflowed (500).
        ("alex", "POST", f"/staff/points/{POINTS[3]}/move-out",
         {"at": "9999-12-31T23:59:59-14:00"}),
        ("alex", "POST", f"/staff/points/{POINTS[3]}/supply",
         {"supplier_code": "VOLT-1", "starts_at": "0001-01-01T00:00:00+14:00"}),
        ("marc", "POST", "/staff/mandates", {
            "household_id": w.parties["h0"], "scope": "both", "points": [str(POINTS[0])],
            "datasets": ["daily_consumption"], "valid_until": "9999-12-31T23:59:59-14:00"}),
        ("marc", "POST", "/staff/mandates", {
            "household_id": w.parties["h0"], "scope": "both", "points": [str(POINTS[0])],
            "datasets": ["daily_consumption"], "valid_until": "2026-12-31T00:00:00"}),
    ]
    for who, method, path, payload in cases:
        status, body = await w.staff(who, method, path, json_body=payload)
        assert 400 <= status < 500, (path, payload, body)
        assert body["detail"]
    status, body = await w.staff("alex", "POST", "/staff/communities", data=b"{not json",
                                 content_type="application/json")
    assert (status, body["field"]) == (400, "body")
    status, body = await w.staff("rita", "POST", f"/staff/mandates/{mandate}/approve")
    assert status == 409  # active already: not a review any more


# Review 2: the journal answered the tenant's 500 oldest entries and nothing newer, not even
# a refusal. It pages as /audit/v1/entries does (after, limit, next), and since= skips ahead.
async def test_the_journal_pages_up_to_the_newest_action(app_world: RulesWorld) -> None:
    from consent.journal import DONE, JournalEntry, add_entry

    w = app_world
    async with w.db.session() as s:
        for n in range(500):
            add_entry(s, JournalEntry(tenant_id="default", at=w.clock.now(), action="staff.me",
                                      outcome=DONE, target=f"old-{n}"))
    w.clock.advance(timedelta(minutes=1))
    recent = w.clock.now().isoformat()
    status, body = await w.staff("sam", "POST", f"/staff/mandates/{w.mandate_id}/revoke")
    assert status == 403
    seen: list[dict[str, object]] = []
    query = ""
    while True:
        status, body = await w.staff("aude", "GET", f"/staff/journal{query}")
        assert status == 200, body
        assert len(body["entries"]) <= 100
        seen += body["entries"]
        if body["next"] is None:
            break
        query = f"?after={body['next']}"
    assert len(seen) > 500
    assert [e["target"] for e in seen].count("old-499") == 1  # no entry twice
    assert ("mandate.revoke", "denied") in [(e["action"], e["outcome"]) for e in seen]
    status, body = await w.staff("aude", "GET", "/staff/journal", params={
        "since": recent, "limit": "1000"})
    assert body["next"] is None
    assert body["entries"][0]["action"] == "mandate.revoke"
    assert "old-0" not in str(body)
    for name, value in (("limit", "0"), ("limit", "1001"), ("limit", "²"), ("after", "-1"),
                        ("after", "9" * 5000), ("since", "9999-12-31T23:59:59-14:00"),
                        ("since", "2026-01-01")):
        status, body = await w.staff("aude", "GET", "/staff/journal", params={name: value})
        assert (status, body.get("field")) == (400, name), (name, value, body)


# Review 2: the same point added by four requests at once: one 201, the others a 500.
async def test_the_same_member_added_twice_at_once_is_a_409(app_world: RulesWorld) -> None:
    w = app_world
    status, body = await w.staff("alex", "POST", "/staff/communities", json_body={
        "name": "Twice", "organiser_id": w.apps["pmo"]})
    assert status == 201, body
    path = f"/staff/communities/{body['id']}/members"
    payload = {"household_id": w.parties["h6"], "point": str(POINTS[6])}
    answers = await asyncio.gather(*(w.staff("alex", "POST", path, json_body=payload)
                                     for _ in range(4)))
    assert sorted(s for s, _ in answers) == [201, 409, 409, 409], answers
    assert {b["field"] for s, b in answers if s == 409} == {"point"}


async def test_community_k_beyond_any_community_is_a_400_not_a_500(
        app_world_any: RulesWorld) -> None:
    """Review 15d: ``min_members`` 2**31 overflowed PostgreSQL's int4 column, 2**70 SQLite's
    integer (OverflowError): both were 500s. k is now at most 10,000 (a 400, rule R4)."""
    w = app_world_any
    for k in (10_001, 2**31, 2**70):
        status, body = await w.staff("alex", "POST", "/staff/communities", json_body={
            "name": "Huge k", "organiser_id": w.apps["pmo"], "min_members": k})
        assert status == 400, (k, status, body)
        assert body["field"] == "min_members"


async def test_a_staff_token_error_is_problem_json_with_a_bearer_challenge(
        app_world: RulesWorld) -> None:
    """Review 15d: a refused staff token was ``application/json`` ``{"error":
    "invalid_token"}`` (the token endpoint's shape) where docs/errors.md promises a problem,
    as the audit API answers."""
    async with app_world.client.get("/staff/me",
                                    headers={"Authorization": "Bearer pas_stf_nope"}) as r:
        assert r.status == 401
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await r.json())["type"].endswith("/invalid_token")

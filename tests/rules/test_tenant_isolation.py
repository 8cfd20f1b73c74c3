"""R24: tenants share one instance and nothing crosses. Tenant ``other`` tries every API with
tenant ``default``'s identifiers: OAuth (authorize, sign-in, introspection, revocation), the
native and the Data Connect-compatible data APIs, the community dataset, the admin API and the
staff API. Each attempt is refused as if the object did not exist (the same answer as for an
identifier that exists nowhere), nothing of ``default`` appears in any answer, and the staff
refusals are journaled in the caller's tenant only.

Household pages (issue 7) are not on this branch yet; the sign-in page is covered here.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
from sqlmodel import select

from consent.models import StaffAction
from consent.tokens import ADMIN_PREFIX, digest, new_secret
from proxy.oauth.admin_tokens import ADMIN_TOKENS_FILE
from tests.oauth.conftest import forms_of
from tests.rules.app_world import POINTS, WINDOW, RulesWorld

UNKNOWN_POINT = "enedis:11111111111111"


def secrets_of_default(w: RulesWorld) -> set[str]:
    """Everything that would betray tenant ``default`` if it appeared in an answer."""
    found = {v for k, v in w.parties.items() if k not in ("bea", "otto", "rolf")}
    found |= {f"h{n}" for n in range(7)} | {"CPAS de Namur", "Volt"}
    found |= {v for k, v in w.apps.items() if k != "elsewhere"}
    found |= {v for k, v in w.consents.items() if k != "bea"}
    found |= {v[0] for k, v in w.clients.items() if k != "elsewhere"}
    return found | {w.mandate_id, w.community_id}


def assert_no_leak(w: RulesWorld, body: Any, *, sent: str | set[str] = "") -> None:
    """Nothing of tenant ``default`` in ``body`` beyond what the caller itself sent."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    text = re.sub(r"<[^>]*>", " ", text)  # HTML tags (<h1>) are not household names
    for echoed in ({sent} if isinstance(sent, str) else sent) - {""}:
        text = text.replace(echoed, "<sent>")
    leaked = sorted(s for s in secrets_of_default(w)
                    if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text))
    assert leaked == [], f"tenant default leaked {leaked} in {text[:300]}"


async def test_the_data_apis_treat_another_tenants_point_as_unknown(
        app_world: RulesWorld) -> None:
    w = app_world
    token = w.tokens["elsewhere"]
    answers = []
    for point in (str(POINTS[0]), UNKNOWN_POINT):
        status, body = await w.call("GET", f"/api/v1/points/{point}/datasets/daily_consumption",
                                    token, params=WINDOW)
        answers.append((status, body["rule"], body["detail"]))
        assert_no_leak(w, body)
    assert answers[0] == answers[1]  # no oracle: "elsewhere" cannot tell P0 exists
    assert answers[0][0] == 403
    for point in (POINTS[0].identifier, "11111111111111"):
        status, body = await w.call(
            "GET", "/compat/enedis/metering_data_dc/v5/daily_consumption", token,
            params={"usage_point_id": point, **WINDOW})
        assert status in (403, 404)
        assert_no_leak(w, body, sent=point)
        answers.append((status, str(body).replace(point, "<sent>")))
    assert answers[2] == answers[3]
    status, body = await w.call("GET", "/api/v1/points", token)
    assert [p["point"] for p in body["points"]] == ["enedis:30001610071843"]
    status, body = await w.call("GET", "/api/v1/consents/current", token)
    assert [c["id"] for c in body["consents"]] == [w.consents["bea"]]
    for community in (w.community_id, str(uuid.uuid4())):
        status, body = await w.call(
            "GET", f"/api/v1/communities/{community}/datasets/daily_consumption", token,
            params=WINDOW)
        assert status == 404
        assert_no_leak(w, body, sent=community)
    events = [e for e in await w.events() if e["recipient_id"] == w.apps["elsewhere"]]
    assert events
    assert {e["tenant_id"] for e in events} == {"other"}
    assert {e["outcome"] for e in events if e["point"] == str(POINTS[0])} == {"denied"}


async def test_oauth_keeps_each_tenant_to_itself(app_world: RulesWorld) -> None:
    w = app_world
    base = str(w.client.make_url(""))
    other_id, other_secret = w.clients["elsewhere"]
    auth = {"Authorization": aiohttp.encode_basic_auth(other_id, other_secret)}
    async with aiohttp.ClientSession() as http:
        async with http.post(base + "/oauth2/introspect", data={"token": w.tokens["pmo"]},
                             headers=auth) as r:
            assert await r.json() == {"active": False}
        async with http.post(base + "/oauth2/revoke", data={"token": w.tokens["pmo"]},
                             headers=auth) as r:
            assert r.status == 200  # RFC 7009: nothing said either way...
    assert (await w.read("pmo", POINTS[0]))[0] == 200  # ...and nothing revoked

    # bea (tenant other) signs in; pmo (tenant default) asks her consent: refused.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        pmo_id = w.clients["pmo"][0]
        authorize = (f"/oauth2/authorize?response_type=code&client_id={pmo_id}"
                     "&redirect_uri=https://pmo.example/cb&scope=daily_consumption"
                     "&state=s&code_challenge=" + "a" * 43 + "&code_challenge_method=S256")
        async with browser.get(base + authorize, allow_redirects=False) as r:
            location = r.headers["Location"]
        assert "tenant=" not in location  # pmo's tenant is the default one
        async with browser.get(base + "/login?tenant=other") as r:
            html = await r.text()
        fields = dict(forms_of(html)[-1]["fields"])
        assert fields["tenant"] == "other"
        async with browser.post(base + "/login", data={**fields, "username": "bea",
                                                       "password": "pw-bea",
                                                       "next": authorize},
                                allow_redirects=False) as r:
            assert r.status == 303
        async with browser.get(base + authorize, allow_redirects=False) as r:
            assert r.status == 403
            page = await r.text()
        assert_no_leak(w, page, sent=pmo_id)
        # bea's credentials do not exist in tenant default.
        async with browser.get(base + "/login") as r:
            fields = dict(forms_of(await r.text())[-1]["fields"])
        async with browser.post(base + "/login", data={**fields, "username": "bea",
                                                       "password": "pw-bea"},
                                allow_redirects=False) as r:
            assert r.status == 200  # the form again, with "sign-in failed"


async def test_the_admin_api_sees_only_its_tenant(app_world: RulesWorld, tmp_path: Any) -> None:
    w = app_world
    other_admin = new_secret(ADMIN_PREFIX)
    settings_dir = next(p for p in tmp_path.iterdir() if p.name == "instance")
    (settings_dir / ADMIN_TOKENS_FILE).write_text(f"{digest(other_admin)} other\n")
    status, body = await w.call("GET", "/admin/recipients", other_admin)
    assert [r["name"] for r in body["recipients"]] == ["elsewhere"]
    pmo_id = w.clients["pmo"][0]
    for method, path, payload in (("GET", f"/admin/recipients/{pmo_id}", None),
                                  ("POST", f"/admin/recipients/{pmo_id}/state",
                                   {"state": "suspended"})):
        status, body = await w.call(method, path, other_admin, json_body=payload)
        assert status == 404
        assert_no_leak(w, body, sent=pmo_id)
    assert (await w.read("pmo", POINTS[0]))[0] == 200
    status, body = await w.call("GET", "/register.json", params={"tenant": "other"})
    assert [r["name"] for r in body["recipients"]] == ["elsewhere"]


async def test_the_staff_api_finds_nothing_of_another_tenant(app_world: RulesWorld) -> None:
    w = app_world
    mandate, consent, household = w.mandate_id, w.consents["h0-pmo"], w.parties["h0"]
    attempts = [
        ("otto", "GET", f"/staff/households/{household}", None),
        ("otto", "GET", f"/staff/mandates/{mandate}", None),
        ("otto", "POST", f"/staff/mandates/{mandate}/revoke", None),
        ("rolf", "POST", f"/staff/mandates/{mandate}/approve", None),
        ("rolf", "POST", f"/staff/consents/{consent}/approve", None),
        ("otto", "POST", f"/staff/points/{POINTS[0]}/move-out", {}),
        ("otto", "POST", f"/staff/points/{POINTS[0]}/supply",
         {"supplier_code": "VOLT-1", "starts_at": "2026-11-01T00:00:00+01:00"}),
        ("otto", "GET", f"/staff/communities/{w.community_id}", None),
        ("otto", "POST", f"/staff/communities/{w.community_id}/members",
         {"household_id": household, "point": str(POINTS[0])}),
        ("otto", "POST", "/staff/mandates", {
            "household_id": household, "mandatary_id": w.parties["cpas"], "scope": "both",
            "points": [str(POINTS[0])], "datasets": ["daily_consumption"],
            "valid_until": "2027-01-01T00:00:00+00:00"}),
        ("otto", "POST", "/staff/privileged", {
            "kind": "consent_change", "reason": "x",
            "params": {"consent_id": consent, "action": "revoke"}}),
    ]
    for who, method, path, payload in attempts:
        status, body = await w.staff(who, method, path, json_body=payload)
        assert status == 404, (path, body)
        sent = set(path.split("/")) | set(re.findall(r"[\w:-]{8,}", str(payload)))
        assert_no_leak(w, body, sent=sent)
    status, body = await w.staff("rolf", "GET", "/staff/reviews")
    assert body == {"items": []}
    async with w.db.session() as s:
        rows = (await s.exec(select(StaffAction).where(StaffAction.outcome == "denied"))).all()
    assert len(rows) == len(attempts)
    assert {r.tenant_id for r in rows} == {"other"}  # journaled where the caller lives
    assert (await w.read("pmo", POINTS[0]))[0] == 200  # and nothing changed in default
    status, body = await w.staff("sam", "GET", f"/staff/households/{household}")
    assert [m["state"] for m in body["mandates"]] == []
    assert {c["state"] for c in body["consents"]} == {"active"}

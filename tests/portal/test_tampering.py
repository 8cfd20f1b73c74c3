"""A household can never see or act on another household's points, consents or mandates by
changing an id in a URL: the answer is the same 404 as for an id that does not exist."""

from __future__ import annotations

import uuid

import pytest

from consent.lifecycle import ActorRole, ConsentState
from consent.models import MandateScope
from consent.services import Actor, MandateDraft
from proxy.keys import rules_key
from tests.oauth.conftest import Browser
from tests.portal.helpers import consent, post, text_of
from tests.portal.world import BOB_PRM, PASSWORD, Portal

UNKNOWN = str(uuid.uuid4())


async def _bob_mandate(portal: Portal) -> str:
    made = await portal.app[rules_key].mandates.request(
        Actor(ActorRole.SUBJECT, party_id=portal.ids["bob"]), MandateDraft(
            mandator_id=portal.ids["bob"], mandatary_id=portal.ids["cpas"],
            scope=MandateScope.READ_DATA, points=[BOB_PRM], datasets=["daily_consumption"],
            valid_until=portal.clock.now().replace(year=2027)))
    return made.row.id


@pytest.mark.parametrize("template", [
    "/account/consents/{id}", "/account/mandates/{id}", "/account/data?point={id}"])
async def test_reading_someone_elses_page_is_a_plain_404(portal: Portal, alice: Browser,
                                                        template: str) -> None:
    theirs = {"/account/consents/{id}": portal.ids["bob_coach"],
              "/account/mandates/{id}": await _bob_mandate(portal),
              "/account/data?point={id}": portal.ids[str(BOB_PRM)]}[template]
    mine, mine_html = await alice.get(template.format(id=theirs))
    none, none_html = await alice.get(template.format(id=UNKNOWN))
    assert mine.status == none.status == 404
    assert text_of(mine_html) == text_of(none_html)  # not even the wording differs
    assert "Bob" not in mine_html


async def test_acting_on_someone_elses_objects_changes_nothing(portal: Portal,
                                                              alice: Browser) -> None:
    bob_consent = await consent(portal, "bob_coach")
    bob_mandate = await _bob_mandate(portal)
    attempts = [
        (f"/account/consents/{bob_consent.id}/withdraw", {"version": "1"}),
        (f"/account/consents/{bob_consent.id}/narrow", {"datasets": "daily_consumption"}),
        (f"/account/mandates/{bob_mandate}/withdraw", {}),
        (f"/account/port/{portal.ids[str(BOB_PRM)]}", {"action": "open"}),
    ]
    for path, fields in attempts:
        response, _ = await post(alice, path, fields)
        assert response.status == 404, path
    # A recipient that holds nothing of Alice's (it holds Bob's consent only): a 404 too.
    await post(alice, f"/account/recipients/{portal.ids['coach']}/withdraw", {})
    response, _ = await post(alice, f"/account/recipients/{portal.ids['coach']}/withdraw", {})
    assert response.status == 404
    assert (await consent(portal, "bob_coach")).state == ConsentState.ACTIVE
    mandate = await portal.app[rules_key].mandates.get("default", bob_mandate)
    assert mandate.state == "requested"


async def test_signed_out_visitors_are_sent_to_the_login_page(portal: Portal) -> None:
    visitor = Browser(portal.url)
    try:
        response, _ = await visitor.get(f"/account/consents/{portal.ids['alice_coach']}")
        assert response.status == 303
        target = f"/account/consents/{portal.ids['alice_coach']}"
        assert response.headers["Location"] == f"/login?next={target}"
        response, _ = await visitor.get("/")
        assert (response.status, response.headers["Location"]) == (303, "/account")
    finally:
        await visitor.close()


async def test_staff_accounts_have_no_household_page(portal: Portal) -> None:
    staff = Browser(portal.url)
    try:
        assert (await staff.login("reviewer", "bob-portal-password")).status == 303
        response, html = await staff.get("/account?lang=en")
        assert response.status == 403
        assert "This page is for households." in html
    finally:
        await staff.close()


async def test_pages_carry_the_strict_security_headers(portal: Portal, alice: Browser) -> None:
    for path in ("/account", "/account/history", "/account/data", "/account/mandates/new"):
        response, html = await alice.get(path)
        assert response.status == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert "script-src" not in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        assert "<script" not in html
        assert "style=" not in html
        assert '<html lang="fr">' in html


async def test_the_session_cookie_is_httponly_and_samesite(portal: Portal) -> None:
    browser = Browser(portal.url)
    try:
        response = await browser.login("alice", PASSWORD, next_path="/account")
        cookie = response.cookies["passerelle"]
        assert cookie["httponly"]
        assert cookie["samesite"] == "Lax"
        assert cookie["path"] == "/"
    finally:
        await browser.close()

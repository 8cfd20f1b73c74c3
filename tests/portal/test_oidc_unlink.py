"""A household lists and removes the OpenID identities linked to its account
(/account/security, proxy/portal/security.py): the removed identity's next sign-in is a first
one again, exactly the sessions it opened end (this one too if it opened it), the last way in
stays, another household's id is a 404."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from sqlmodel import select

from consent.models import BrowserSession
from tests.oauth.conftest import Browser
from tests.portal.helpers import csrf_of, post, text_of
from tests.portal.oidc_flow import (
    admin_events,
    links,
    paper_household_links,
    round_trip,
    submit_link,
)
from tests.portal.world import ALICE_PCE, BOB_PASSWORD, PASSWORD, Portal
from tests.support.oidc_provider import Provider

SUBJECT = "fc-alice-0001"  # the test provider's default user


async def _alice_links(portal: Portal) -> Browser:
    """Alice signs in with her password, then links the provider's identity (signed in): her
    browser's session is now one the identity opened."""
    browser = Browser(portal.url)
    assert (await browser.login("alice", PASSWORD)).status == 303
    assert await round_trip(browser) == (303, "/login/oidc/link")
    assert (await submit_link(browser, portal, ALICE_PCE))[:2] == (303, "/account/history")
    return browser


async def _password_browser(portal: Portal, who: str = "alice",
                            password: str = PASSWORD) -> Browser:
    browser = Browser(portal.url)
    assert (await browser.login(who, password)).status == 303
    return browser


async def _remove(browser: Browser, link_id: str) -> tuple[aiohttp.ClientResponse, str]:
    return await post(browser, f"/account/security/identities/{link_id}/remove?lang=en", {},
                      page="/account/security")


async def test_the_security_page_lists_the_identity_without_its_whole_subject(
        federated: Portal, provider: Provider) -> None:
    browser = await _alice_links(federated)
    try:
        _, html = await browser.get("/account/security?lang=en")
    finally:
        await browser.close()
    [link] = await links(federated)
    page = text_of(html)
    assert "FranceConnect (test) …0001" in page
    assert SUBJECT not in html
    assert "proof: signed-in session and meter number" in page
    assert "last sign-in" in page
    assert f'action="/account/security/identities/{link.id}/remove"' in html


async def test_a_removed_identity_signs_in_no_more_and_its_sessions_end(
        federated: Portal, provider: Provider) -> None:
    """Exactly the sessions the identity opened end: not the password session that removes it,
    nor the session another linked identity of the account opened (found by review: every
    other session of the account used to end)."""
    alice = await _alice_links(federated)
    phone, later = Browser(federated.url), Browser(federated.url)
    provider.user = {"sub": "fc-alice-0009", "name": "Alice Martin"}
    tablet = await _password_browser(federated)  # then signed in by a second identity
    desk = await _password_browser(federated)
    try:
        assert await round_trip(tablet) == (303, "/login/oidc/link")
        assert (await submit_link(tablet, federated, ALICE_PCE))[:2] == (303, "/account/history")
        provider.user = {"sub": SUBJECT, "name": "Alice Martin"}
        assert await round_trip(phone) == (303, "/account/history")  # signed in by the link
        [link] = [row for row in await links(federated) if row.subject == SUBJECT]
        response, _ = await _remove(desk, link.id)
        assert (response.status, response.headers["Location"]) == (303, "/account/security")
        _, html = await desk.get("/account/security?lang=en")
        assert ("Identity removed: it can no longer sign in. The sessions it had opened are "
                "closed (2)." in text_of(html))
        assert "…0001" not in text_of(html)
        assert "…0009" in text_of(html)
        for opened_by_it in (alice, phone):
            assert (await opened_by_it.get("/account"))[0].status == 303  # signed out
        for other in (desk, tablet):
            assert (await other.get("/account"))[0].status == 200
        # Sent again (a double submit, a stale tab): the portal's 404, nothing else changes.
        response, _ = await _remove(desk, link.id)
        assert response.status == 404
        assert (await desk.get("/account"))[0].status == 200
        # The identity's next sign-in is a first one: the link flow, nobody signed in.
        assert await round_trip(later) == (303, "/login/oidc/link")
        assert (await later.get("/account"))[0].status == 303
    finally:
        for browser in (alice, phone, later, tablet, desk):
            await browser.close()
    [event] = [e for e in await admin_events(federated) if e["action"] == "account.oidc_unlinked"]
    assert event["actor"] == f"account:{federated.ids['alice_account']}"
    assert event["details"] == {"issuer": provider.url, "subject": "…0001",
                                "proof": "session+meter_number", "sessions_ended": 2,
                                "this_session_ended": False}
    assert SUBJECT not in json.dumps(event)


async def test_removing_the_identity_this_session_signed_in_with_signs_it_out(
        federated: Portal, provider: Provider) -> None:
    alice = await _alice_links(federated)
    desk = await _password_browser(federated)
    try:
        [link] = await links(federated)
        _, html = await alice.get("/account/security?lang=en")
        assert "…0001 (you are signed in with it: removing it signs you out)" in text_of(html)
        _, html = await desk.get("/account/security?lang=en")
        assert "you are signed in with it" not in text_of(html)
        response, _ = await _remove(alice, link.id)
        assert (response.status, response.headers["Location"]) == (303, "/account/signed-out")
        _, html = await alice.get("/account/signed-out?lang=en")
        assert ("This session was opened with it: it is closed, like the others it had opened "
                "(1). Sign in again with your password or another identity." in text_of(html))
        assert (await alice.get("/account"))[0].status == 303
        assert (await desk.get("/account"))[0].status == 200
    finally:
        await alice.close()
        await desk.close()
    assert await links(federated) == []
    [event] = [e for e in await admin_events(federated) if e["action"] == "account.oidc_unlinked"]
    assert (event["details"]["sessions_ended"], event["details"]["this_session_ended"]) == (1, True)


async def test_the_last_way_in_is_not_removed(federated: Portal, provider: Provider) -> None:
    browser = await paper_household_links(federated, provider)
    try:
        [link] = await links(federated)
        _, html = await browser.get("/account/security?lang=en")
        assert "/remove" not in html  # no button, the reason instead
        assert "This identity is the only way into your account" in text_of(html)
        response, html = await _remove(browser, link.id)
        assert response.status == 409
        assert ("This identity is the only way into your account: link another identity "
                "first" in text_of(html))
        assert (await browser.get("/account"))[0].status == 200
    finally:
        await browser.close()
    assert [row.id for row in await links(federated)] == [link.id]
    assert "account.oidc_unlinked" not in [e["action"] for e in await admin_events(federated)]


async def test_another_households_identity_is_not_found(federated: Portal,
                                                       provider: Provider) -> None:
    alice = await _alice_links(federated)
    bob = Browser(federated.url)
    try:
        [link] = await links(federated)
        assert (await bob.login("bob", BOB_PASSWORD)).status == 303
        response, html = await _remove(bob, link.id)
        assert response.status == 404
        assert SUBJECT not in html
        assert (await alice.get("/account"))[0].status == 200  # Alice's sessions live on
    finally:
        await alice.close()
        await bob.close()
    assert [row.id for row in await links(federated)] == [link.id]


async def test_a_removal_without_a_valid_csrf_token_does_nothing(federated: Portal,
                                                                provider: Provider) -> None:
    alice = await _alice_links(federated)
    try:
        [link] = await links(federated)
        path = f"/account/security/identities/{link.id}/remove"
        for form in ([], [("csrf_token", "forged")]):
            response, _ = await alice.post(path, form, headers={"Origin": alice.base})
            assert response.status == 403
    finally:
        await alice.close()
    assert [row.id for row in await links(federated)] == [link.id]


async def test_two_removals_at_once_remove_once(federated: Portal, provider: Provider) -> None:
    await (await _alice_links(federated)).close()
    desk = await _password_browser(federated)
    try:
        [link] = await links(federated)
        token = await csrf_of(desk, "/account/security")
        answers = await asyncio.gather(*(desk.post(
            f"/account/security/identities/{link.id}/remove", [("csrf_token", token)],
            headers={"Origin": desk.base}) for _ in range(2)))
        assert sorted(response.status for response, _ in answers) == [303, 404]
        assert (await desk.get("/account"))[0].status == 200
    finally:
        await desk.close()
    assert await links(federated) == []
    async with federated.db.session() as session:
        live = (await session.exec(select(BrowserSession).where(
            BrowserSession.account_id == federated.ids["alice_account"],
            BrowserSession.revoked_at == None))).all()  # noqa: E711 (SQL IS NULL)
    assert len(live) == 1
    removed = [e for e in await admin_events(federated) if e["action"] == "account.oidc_unlinked"]
    assert len(removed) == 1

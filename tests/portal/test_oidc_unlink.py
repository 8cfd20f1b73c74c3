"""A household lists and removes the OpenID identities linked to its account
(/account/security, proxy/portal/security.py): the removed identity's next sign-in is a first
one again, other sessions end, the last way in stays, another household's id is a 404."""

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
    """Alice signs in with her password, then links the provider's identity (signed in)."""
    browser = Browser(portal.url)
    assert (await browser.login("alice", PASSWORD)).status == 303
    assert await round_trip(browser) == (303, "/login/oidc/link")
    assert (await submit_link(browser, portal, ALICE_PCE))[:2] == (303, "/account/history")
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
    assert "proof : signed-in session and meter number" in page
    assert "last sign-in" in page
    assert f'action="/account/security/identities/{link.id}/remove"' in html


async def test_a_removed_identity_signs_in_no_more_and_its_sessions_end(
        federated: Portal, provider: Provider) -> None:
    alice = await _alice_links(federated)
    phone, later = Browser(federated.url), Browser(federated.url)
    try:
        assert await round_trip(phone) == (303, "/account/history")  # signed in by the link
        [link] = await links(federated)
        response, _ = await _remove(alice, link.id)
        assert (response.status, response.headers["Location"]) == (303, "/account/security")
        _, html = await alice.get("/account/security?lang=en")
        assert ("Identity removed: it can no longer sign in. Your other sessions are closed (1)."
                in text_of(html))
        assert "No external identity is linked to this account." in text_of(html)
        assert (await phone.get("/account"))[0].status == 303  # signed out
        assert await links(federated) == []
        # Sent again (a double submit, a stale tab): the portal's 404, nothing else changes.
        response, _ = await _remove(alice, link.id)
        assert response.status == 404
        assert (await alice.get("/account"))[0].status == 200  # this browser stays in
        # The identity's next sign-in is a first one: the link flow, nobody signed in.
        assert await round_trip(later) == (303, "/login/oidc/link")
        assert (await later.get("/account"))[0].status == 303
    finally:
        for browser in (alice, phone, later):
            await browser.close()
    [event] = [e for e in await admin_events(federated) if e["action"] == "account.oidc_unlinked"]
    assert event["actor"] == f"account:{federated.ids['alice_account']}"
    assert event["details"] == {"issuer": provider.url, "subject": "…0001",
                                "proof": "session+meter_number", "sessions_ended": 1}
    assert SUBJECT not in json.dumps(event)


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
    alice = await _alice_links(federated)
    try:
        [link] = await links(federated)
        token = await csrf_of(alice, "/account/security")
        answers = await asyncio.gather(*(alice.post(
            f"/account/security/identities/{link.id}/remove", [("csrf_token", token)],
            headers={"Origin": alice.base}) for _ in range(2)))
        assert sorted(response.status for response, _ in answers) == [303, 404]
        assert (await alice.get("/account"))[0].status == 200
    finally:
        await alice.close()
    assert await links(federated) == []
    async with federated.db.session() as session:
        live = (await session.exec(select(BrowserSession).where(
            BrowserSession.account_id == federated.ids["alice_account"],
            BrowserSession.revoked_at == None))).all()  # noqa: E711 (SQL IS NULL)
    assert len(live) == 1
    removed = [e for e in await admin_events(federated) if e["action"] == "account.oidc_unlinked"]
    assert len(removed) == 1

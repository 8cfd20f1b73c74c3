"""The password form of /account/security (proxy/portal/identity.py): an account without a
password (registered through OpenID only, or on paper) chooses its first one, a recently
signed-in session being the proof (else it signs in again through the provider, asked for a
fresh authentication); an account with one still types it to change it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from html import escape
from typing import Any

import pytest
from sqlmodel import col, select

from consent.accounts import verify_password
from consent.identity import NO_PASSWORD
from consent.models import Account, BrowserSession
from proxy.portal.security import REAUTH_URL
from tests.oauth.conftest import Browser
from tests.portal.helpers import csrf_of, field_error, post, text_of
from tests.portal.oidc_flow import admin_events, links, paper_household_links, round_trip
from tests.portal.world import PASSWORD, Portal
from tests.support.oidc_provider import Provider

NEW = "a-first-password-for-bob"
PATH = "/account/security/password"


async def _account(portal: Portal, key: str) -> Account:
    async with portal.db.session() as session:
        account = await session.get(Account, portal.ids[key])
    assert account is not None
    return account


async def _live_sessions(portal: Portal, key: str) -> list[BrowserSession]:
    async with portal.db.session() as session:
        return list((await session.exec(select(BrowserSession).where(
            BrowserSession.account_id == portal.ids[key],
            col(BrowserSession.revoked_at).is_(None)))).all())


async def _password_events(portal: Portal) -> list[dict[str, Any]]:
    return [e for e in await admin_events(portal) if e["action"].startswith("account.password")]


async def test_an_account_without_a_password_chooses_its_first_one(
        federated: Portal, provider: Provider) -> None:
    bob = await paper_household_links(federated, provider)  # signed in through the provider
    phone, desk = Browser(federated.url), Browser(federated.url)
    try:
        assert await round_trip(phone) == (303, "/account/history")
        _, html = await bob.get("/account/security?lang=en")
        assert "Choose a password" in text_of(html)
        assert 'name="current"' not in html
        response, _ = await bob.post(PATH, [("password", NEW), ("password2", NEW)],
                                     headers={"Origin": bob.base})
        assert response.status == 403  # no CSRF token: nothing set
        response, html = await post(bob, PATH + "?lang=en", {
            "password": "short", "password2": "short"}, page="/account/security")
        assert response.status == 400
        assert field_error(html, "password") == "At least 10 characters."
        response, html = await post(bob, PATH + "?lang=en", {
            "password": NEW, "password2": NEW + "!"}, page="/account/security")
        assert field_error(html, "password2") == "The two passwords differ."
        assert (await _account(federated, "bob_account")).password_hash == "!no-password"
        assert await _password_events(federated) == []
        federated.clock.advance(timedelta(minutes=9))  # signed in 9 minutes ago: recent
        response, _ = await post(bob, PATH, {"password": NEW, "password2": NEW},
                                 page="/account/security")
        assert (response.status, response.headers["Location"]) == (303, "/account/security")
        _, html = await bob.get("/account/security?lang=en")
        assert "Password set. Your other sessions are closed." in text_of(html)
        assert 'name="current"' in html  # from now on, a change takes it
        assert (await phone.get("/account"))[0].status == 303
        assert (await desk.login("bob", NEW)).status == 303
    finally:
        for browser in (bob, phone, desk):
            await browser.close()
    assert verify_password((await _account(federated, "bob_account")).password_hash, NEW)
    [event] = await _password_events(federated)
    assert (event["action"], event["actor"]) == (
        "account.password_set", f"account:{federated.ids['bob_account']}")
    assert event["details"] == {"proof": "session", "session_method": "oidc"}
    # Bob's new session still says how he proved who he is: the provider, that identity.
    [link] = await links(federated)
    methods = sorted((row.auth_method, row.external_identity_id)
                     for row in await _live_sessions(federated, "bob_account"))
    assert methods == [("oidc", link.id), ("password", None)]


async def test_a_password_change_still_needs_the_current_one(portal: Portal,
                                                            alice: Browser) -> None:
    before = (await _account(portal, "alice_account")).password_hash
    for current in (None, "", "wrong-password"):
        fields = {"password": "brand-new-password", "password2": "brand-new-password"}
        if current is not None:
            fields["current"] = current
        response, html = await post(alice, PATH + "?lang=en", fields, page="/account/security")
        assert response.status == 400
        assert field_error(html, "current") == "This is not your current password."
    assert (await _account(portal, "alice_account")).password_hash == before
    assert (await alice.get("/account"))[0].status == 200
    assert await _password_events(portal) == []
    assert verify_password(before, PASSWORD)
    # However old the session, the current password is what a change takes: no re-sign-in.
    portal.clock.advance(timedelta(hours=3))
    fields = {"password": "brand-new-password", "password2": "brand-new-password"}
    response, html = await post(alice, PATH + "?lang=en", fields, page="/account/security")
    assert (response.status, field_error(html, "current")) == (
        400, "This is not your current password.")
    response, _ = await post(alice, PATH, {**fields, "current": PASSWORD},
                             page="/account/security")
    assert (response.status, response.headers["Location"]) == (303, "/account/security")
    assert verify_password((await _account(portal, "alice_account")).password_hash,
                           "brand-new-password")
    assert [e["action"] for e in await _password_events(portal)] == ["account.password_changed"]
    # The new session is not a new proof: it keeps when Alice typed her password to sign in.
    [row] = await _live_sessions(portal, "alice_account")
    assert row.created_at == portal.clock.now()
    assert row.authenticated_at == portal.clock.now() - timedelta(hours=3)


async def test_a_password_sign_in_is_recent(portal: Portal, alice: Browser) -> None:
    """Typing the password proves who one is as the session opens (here, for an account whose
    password the operator then cleared: the only way such a session meets the check)."""
    [row] = await _live_sessions(portal, "alice_account")
    assert row.authenticated_at == row.created_at == portal.clock.now()
    async with portal.db.session() as session:
        account = await session.get(Account, portal.ids["alice_account"])
        assert account is not None
        account.password_hash = NO_PASSWORD
        session.add(account)
    portal.clock.advance(timedelta(minutes=9))
    response, _ = await post(alice, PATH, {"password": NEW, "password2": NEW},
                             page="/account/security")
    assert (response.status, response.headers["Location"]) == (303, "/account/security")
    assert verify_password((await _account(portal, "alice_account")).password_hash, NEW)


async def test_a_first_password_takes_a_recent_sign_in(federated_any: Portal,
                                                       provider: Provider) -> None:
    portal = federated_any
    bob = await paper_household_links(portal, provider)
    fields = {"password": NEW, "password2": NEW}
    try:
        portal.clock.advance(timedelta(minutes=11))
        _, html = await bob.get("/account/security?lang=en")
        assert "takes a sign-in less than 10 minutes old" in text_of(html)
        assert 'name="password"' not in html  # no form to type a password into for nothing
        assert f'href="{escape(REAUTH_URL)}"' in html
        response, html = await post(bob, PATH + "?lang=en", fields, page="/account/security")
        assert response.status == 403
        assert "You signed in more than 10 minutes ago" in text_of(html)
        assert (await _account(portal, "bob_account")).password_hash == NO_PASSWORD
        assert await _password_events(portal) == []
        assert (await bob.get("/account"))[0].status == 200  # still signed in, nothing ended
        # Signing in again asks the provider for a fresh authentication and comes back here.
        assert await round_trip(bob, REAUTH_URL) == (303, "/account/security")
        query = provider.requests[-1]
        assert (query["prompt"], query["max_age"]) == ("login", "600")
        assert provider.signed_in_at == int(portal.clock.now().timestamp())
        response, _ = await post(bob, PATH, fields, page="/account/security")
        assert (response.status, response.headers["Location"]) == (303, "/account/security")
    finally:
        await bob.close()
    assert verify_password((await _account(portal, "bob_account")).password_hash, NEW)
    assert [e["action"] for e in await _password_events(portal)] == ["account.password_set"]
    assert "prompt" not in provider.requests[0]  # a plain sign-in asks for nothing more


async def test_a_silent_sign_in_through_the_provider_is_not_recent(
        federated_any: Portal, provider: Provider) -> None:
    """The loophole: on a shared computer where the provider is still signed in, a plain
    ``/login/oidc`` opens a brand-new session without anyone typing anything. Recency is when
    the person authenticated (``auth_time``), not when the session opened."""
    portal = federated_any
    await (await paper_household_links(portal, provider)).close()
    signed_in_at = portal.clock.now().replace(microsecond=0)
    portal.clock.advance(timedelta(minutes=30))  # Bob left; the provider did not forget him
    kiosk = Browser(portal.url)
    fields = {"password": NEW, "password2": NEW}
    try:
        assert await round_trip(kiosk) == (303, "/account/history")
        assert provider.signed_in_at == int(signed_in_at.timestamp())  # nothing was asked
        [row] = [r for r in await _live_sessions(portal, "bob_account")
                 if r.created_at == portal.clock.now()]
        assert row.authenticated_at == signed_in_at  # the session is new, the proof is not
        _, html = await kiosk.get("/account/security?lang=en")
        assert 'name="password"' not in html
        response, html = await post(kiosk, PATH + "?lang=en", fields, page="/account/security")
        assert response.status == 403
        assert "You signed in more than 10 minutes ago" in text_of(html)
        assert (await _account(portal, "bob_account")).password_hash == NO_PASSWORD
        assert await _password_events(portal) == []
        # Signing in again for real: the provider asks, the session is recent.
        assert await round_trip(kiosk, REAUTH_URL) == (303, "/account/security")
        reauthenticated = portal.clock.now().replace(microsecond=0)
        assert provider.signed_in_at == int(reauthenticated.timestamp())
        portal.clock.advance(timedelta(minutes=2))
        response, _ = await post(kiosk, PATH, fields, page="/account/security")
        assert (response.status, response.headers["Location"]) == (303, "/account/security")
        # The re-issued session carries the instant of that sign-in, not "now".
        [row] = await _live_sessions(portal, "bob_account")
        assert (row.created_at, row.authenticated_at) == (portal.clock.now(), reauthenticated)
    finally:
        await kiosk.close()
    assert verify_password((await _account(portal, "bob_account")).password_hash, NEW)
    assert [e["action"] for e in await _password_events(portal)] == ["account.password_set"]


@pytest.mark.parametrize("fault", ["no_auth_time", "future_auth_time"])
async def test_an_unknown_authentication_instant_is_not_recent(
        federated: Portal, provider: Provider, fault: str) -> None:
    """No ``auth_time`` (or one over a minute ahead): the session, brand new, is not recent."""
    provider.tamper = fault
    bob = await paper_household_links(federated, provider)
    fields = {"password": NEW, "password2": NEW}
    try:
        [row] = await _live_sessions(federated, "bob_account")
        assert (row.created_at, row.authenticated_at) == (federated.clock.now(), None)
        response, _ = await post(bob, PATH, fields, page="/account/security")
        assert response.status == 403
        assert (await _account(federated, "bob_account")).password_hash == NO_PASSWORD
        provider.tamper = None
        assert await round_trip(bob, REAUTH_URL) == (303, "/account/security")
        response, _ = await post(bob, PATH, fields, page="/account/security")
        assert response.status == 303
    finally:
        await bob.close()
    assert verify_password((await _account(federated, "bob_account")).password_hash, NEW)


@pytest.mark.parametrize("provider_fault", ["ignores_prompt", "no_auth_time"])
async def test_a_re_sign_in_the_provider_does_not_confirm_is_refused(
        federated: Portal, provider: Provider, provider_fault: str) -> None:
    bob = await paper_household_links(federated, provider)
    if provider_fault == "ignores_prompt":  # or prompt and max_age stripped from the URL
        provider.reauthenticates = False
    else:
        provider.tamper = "no_auth_time"
    try:
        federated.clock.advance(timedelta(minutes=11))
        sessions = [row.id for row in await _live_sessions(federated, "bob_account")]
        response, html = await bob.get(REAUTH_URL)
        response, _ = await bob.get(response.headers["Location"])
        response, html = await bob.get(response.headers["Location"] + "&lang=en")
        assert response.status == 403
        assert "did not confirm that you have just signed in" in text_of(html)
        assert [row.id for row in await _live_sessions(federated, "bob_account")] == sessions
        response, _ = await post(bob, PATH, {"password": NEW, "password2": NEW},
                                 page="/account/security")
        assert response.status == 403  # still the old session: still refused
    finally:
        await bob.close()
    assert (await _account(federated, "bob_account")).password_hash == NO_PASSWORD


async def test_two_first_passwords_at_once_set_one(federated: Portal,
                                                  provider: Provider) -> None:
    bob = await paper_household_links(federated, provider)
    tries = ("first-password-one", "first-password-two")
    try:
        token = await csrf_of(bob, "/account/security")
        answers = await asyncio.gather(*(bob.post(PATH, [
            ("csrf_token", token), ("password", p), ("password2", p)],
            headers={"Origin": bob.base}) for p in tries))
    finally:
        await bob.close()
    # The second is refused (409), or, if the first had already ended its session, sent to
    # sign in again (303): never a 500, never two passwords.
    assert all(response.status in (303, 409) for response, _ in answers)
    assert [response.headers.get("Location") for response, _ in answers].count(
        "/account/security") == 1
    stored = (await _account(federated, "bob_account")).password_hash
    assert [verify_password(stored, p) for p in tries].count(True) == 1
    assert [e["action"] for e in await _password_events(federated)] == ["account.password_set"]

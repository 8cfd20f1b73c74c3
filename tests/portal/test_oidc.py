"""Sign-in through an OpenID Connect provider (R15), against a real provider on 127.0.0.1
(tests/support/oidc_provider.py): discovery, code + PKCE, ID token checks, first-login link by
meter number (never into an account someone else signs into), later sign-ins by the link."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import col, select

from consent.models import Account, Occupancy, Party
from tests.oauth.conftest import Browser
from tests.portal.helpers import csrf_of, field_error, post, text_of
from tests.portal.oidc_flow import (
    admin_events,
    links,
    paper_household_links,
    round_trip,
    submit_link,
)
from tests.portal.world import ALICE_PCE, FREE_PRM, PASSWORD, Portal
from tests.support.oidc_provider import Provider


# Review 3: the meter number (readable in a shared hallway, by a landlord, a former flatmate)
# used to link any OpenID identity into the existing account of the point's household.
async def test_a_meter_number_does_not_open_an_account_someone_signs_into(
        federated: Portal, provider: Provider) -> None:
    provider.user = {"sub": "fc-mallory-666", "name": "Mallory"}
    browser = Browser(federated.url)
    try:
        assert await round_trip(browser) == (303, "/login/oidc/link")
        status, _, html = await submit_link(browser, federated, ALICE_PCE, "999999")
        assert field_error(html, "meter_number") == "The meter number does not match this point."
        status, location, html = await submit_link(browser, federated, ALICE_PCE)
        assert (status, location) == (409, "")
        assert "This home already has an account on Passerelle" in text_of(html)
        assert "Watt Coach" not in text_of(html)
        assert (await browser.get("/account"))[0].status == 303  # nobody signed in
    finally:
        await browser.close()
    assert await links(federated) == []
    [refused] = [e for e in await admin_events(federated)
                 if e["action"] == "account.oidc_link_refused"]
    assert refused["actor"] == f"account:{federated.ids['alice_account']}"
    assert refused["details"]["subject"] == "…-666"  # masked, like every journal event
    assert "fc-mallory-666" not in json.dumps(await admin_events(federated))
    assert "account.oidc_linked" not in [e["action"] for e in await admin_events(federated)]


async def test_the_owner_signs_in_first_then_links_the_identity(
        federated: Portal, provider: Provider) -> None:
    browser = Browser(federated.url)
    try:
        _, html = await browser.get("/login?lang=en")
        assert "Sign in with FranceConnect (test)" in text_of(html)
        assert await round_trip(browser) == (303, "/login/oidc/link")
        status, _, html = await submit_link(browser, federated, ALICE_PCE)
        assert status == 409
        # The refusal page's way forward: sign in with the account, then with the provider.
        [href] = re.findall(r'href="(/login\?next=[^"]+)"', html)
        again = parse_qs(urlsplit(href.replace("&amp;", "&")).query)["next"][0]
        assert again == "/login/oidc?next=/account/history"
        response = await browser.login("alice", PASSWORD, next_path=again)
        assert (response.status, response.headers["Location"]) == (303, again)
        assert await round_trip(browser) == (303, "/login/oidc/link")
        assert (await browser.get("/account"))[0].status == 200  # the session survived
        status, location, _ = await submit_link(browser, federated, ALICE_PCE)
        assert (status, location) == (303, "/account/history")
        _, html = await browser.get("/account/security?lang=en")
        assert "You are signed in with an identity provider." in text_of(html)
        assert "Link a FranceConnect (test) identity to this account" in text_of(html)
    finally:
        await browser.close()
    [link] = await links(federated)
    assert (link.issuer, link.subject, link.proof) == (provider.url, "fc-alice-0001",
                                                       "session+meter_number")
    assert link.account_id == federated.ids["alice_account"]
    [linked] = [e for e in await admin_events(federated)
                if e["action"] == "account.oidc_linked"]
    assert linked["details"]["proof"] == "session+meter_number"
    again_browser = Browser(federated.url)  # later: straight in, no meter number
    try:
        assert await round_trip(again_browser) == (303, "/account/history")
        _, html = await again_browser.get("/account?lang=en")
        assert "Watt Coach" in text_of(html)  # Alice's page
    finally:
        await again_browser.close()


async def test_a_household_nobody_signs_into_is_linked_by_its_meter_number(
        federated: Portal, provider: Provider) -> None:
    browser = await paper_household_links(federated, provider)
    try:
        _, html = await browser.get("/account?lang=en")
        assert "Electricity · 24134785609130" in text_of(html)
    finally:
        await browser.close()
    [link] = await links(federated)
    assert (link.account_id, link.proof) == (federated.ids["bob_account"], "meter_number")
    [linked] = [e for e in await admin_events(federated)
                if e["action"] == "account.oidc_linked"]
    assert linked["details"]["proof"] == "meter_number"


@pytest.mark.parametrize("path", ["new household", "signed in"])
async def test_two_tabs_finishing_the_same_first_sign_in(federated_any: Portal,
                                                        provider: Provider, path: str) -> None:
    """On both backends: the second tab waits for the first's transaction (household, link and
    claim in one) at the link's unique key, or for SQLite's write lock, then signs in."""
    federated = federated_any
    browser = Browser(federated.url)
    ref = ALICE_PCE
    if path == "new household":
        provider.user, ref = {"sub": "fc-new-43", "name": "Nadia Nouvelle"}, FREE_PRM
    else:
        assert (await browser.login("alice", PASSWORD)).status == 303
    try:
        assert await round_trip(browser) == (303, "/login/oidc/link")
        token = await csrf_of(browser, "/login/oidc/link")
        form = [("csrf_token", token), ("source", ref.source.value),
                ("identifier", ref.identifier), ("meter_number", federated.meter_number(ref))]
        answers = await asyncio.gather(*(browser.post("/login/oidc/link", form, headers={
            "Origin": browser.base}) for _ in range(2)))
        statuses = sorted(response.status for response, _ in answers)
        assert statuses in ([303, 303], [303, 409]), statuses
        assert (await browser.get("/account"))[0].status == 200
    finally:
        await browser.close()
    [link] = await links(federated)
    async with federated.db.session() as session:
        account = await session.get(Account, link.account_id)
        assert account is not None
        occupants = (await session.exec(select(Occupancy.household_id).where(
            col(Occupancy.ends_at).is_(None)))).all()
        nadias = (await session.exec(select(Party).where(Party.name == "Nadia Nouvelle"))).all()
    assert account.party_id in occupants
    if path == "signed in":
        assert link.account_id == federated.ids["alice_account"]
    else:  # the second tab's household was rolled back with its link
        assert [p.id for p in nadias] == [account.party_id]


async def test_a_new_person_gets_a_household_that_claims_the_point(
        federated: Portal, provider: Provider) -> None:
    provider.user = {"sub": "fc-new-42", "name": "Nadia Nouvelle"}
    browser = Browser(federated.url)
    try:
        await round_trip(browser)
        response, _ = await post(browser, "/login/oidc/link", {
            "source": "enedis", "identifier": FREE_PRM.identifier,
            "meter_number": federated.meter_number(FREE_PRM)}, page="/login/oidc/link")
        assert response.status == 303
        _, html = await browser.get("/account?lang=en")
        assert "Electricity · 30001610071843" in text_of(html)
        async with federated.db.session() as session:
            party = (await session.exec(select(Party).where(
                Party.name == "Nadia Nouvelle"))).one()
            occupancy = (await session.exec(select(Occupancy).where(
                Occupancy.household_id == party.id))).one()
        assert occupancy.ends_at is None
    finally:
        await browser.close()


@pytest.mark.parametrize("tamper", ["aud", "iss", "nonce", "expired", "signature", "hs256"])
async def test_an_untrustworthy_id_token_signs_nobody_in(federated: Portal, provider: Provider,
                                                        tamper: str) -> None:
    provider.tamper = tamper
    browser = Browser(federated.url)
    try:
        status, location = await round_trip(browser)
        assert status == 502
        assert location == ""
        assert (await browser.get("/account"))[0].status == 303
    finally:
        await browser.close()


async def test_a_callback_without_our_state_is_refused(federated: Portal,
                                                      provider: Provider) -> None:
    browser = Browser(federated.url)
    try:
        response, _ = await browser.get("/login/oidc?next=/account")
        forged = response.headers["Location"].replace("state=", "state=x")
        response, _ = await browser.get(forged)
        response, html = await browser.get(response.headers["Location"] + "&lang=en")
        assert response.status == 400
        assert "did not start here" in text_of(html)
        assert provider.issued == 0  # the code was never redeemed
    finally:
        await browser.close()


async def test_without_a_provider_there_is_no_openid_sign_in(portal: Portal) -> None:
    browser = Browser(portal.url)
    try:
        _, html = await browser.get("/login")
        assert "/login/oidc" not in html
        assert (await browser.get("/login/oidc"))[0].status == 404
    finally:
        await browser.close()

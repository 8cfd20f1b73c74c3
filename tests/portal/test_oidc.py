"""Sign-in through an OpenID Connect provider (R15), against a real provider on 127.0.0.1
(tests/support/oidc_provider.py): discovery, code + PKCE, ID token checks, first-login link by
meter number, later sign-ins by the link."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from consent.clock import FrozenClock
from consent.models import Account, ExternalIdentity, Occupancy, Party
from tests.oauth.conftest import Browser
from tests.portal.helpers import field_error, log_entries, post, text_of
from tests.portal.world import ALICE_PCE, FREE_PRM, Portal, start
from tests.support.databases import SqliteFactory
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, serve


def _timestamps(clock: FrozenClock) -> Callable[[], float]:
    return lambda: clock.now().timestamp()


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    async for running in serve():
        yield running


@pytest.fixture
async def federated(sqlite_factory: SqliteFactory, tmp_path: Path,
                    provider: Provider) -> AsyncIterator[Portal]:
    """The portal world with the provider configured by its discovery URL."""
    url = sqlite_factory.create()
    async for running in start(url, tmp_path / "instance",
                               oidc_discovery_url=provider.discovery_url,
                               oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
                               oidc_label="FranceConnect (test)"):
        provider.now = _timestamps(running.clock)  # the provider shares the frozen clock
        yield running
    sqlite_factory.drop(url)


async def _round_trip(browser: Browser) -> tuple[int, str]:
    """/login/oidc -> provider -> callback; the callback's status and Location."""
    response, _ = await browser.get("/login/oidc?next=/account/history")
    assert response.status == 303
    authorize = response.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"]
    assert query["state"]
    response, _ = await browser.get(authorize)  # the provider signs the user in at once
    assert response.status == 302
    response, _ = await browser.get(response.headers["Location"])
    return response.status, response.headers.get("Location", "")


async def test_first_sign_in_links_the_identity_after_the_meter_number(
        federated: Portal, provider: Provider) -> None:
    browser = Browser(federated.url)
    try:
        _, html = await browser.get("/login?lang=en")
        assert "Sign in with FranceConnect (test)" in text_of(html)
        status, location = await _round_trip(browser)
        assert (status, location) == (303, "/login/oidc/link")
        response, html = await post(browser, "/login/oidc/link?lang=en", {
            "source": "grdf", "identifier": ALICE_PCE.identifier, "meter_number": "999999"},
            page="/login/oidc/link")
        assert field_error(html, "meter_number") == "The meter number does not match this point."
        response, _ = await post(browser, "/login/oidc/link", {
            "source": "grdf", "identifier": ALICE_PCE.identifier,
            "meter_number": federated.meter_number(ALICE_PCE)}, page="/login/oidc/link")
        assert (response.status, response.headers["Location"]) == (303, "/account/history")
        _, html = await browser.get("/account?lang=en")
        assert "Watt Coach" in text_of(html)  # Alice's page: the household was found
        async with federated.db.session() as session:
            link = (await session.exec(select(ExternalIdentity))).one()
            account = await session.get(Account, link.account_id)
        assert (link.issuer, link.subject, link.proof) == (provider.url, "fc-alice-0001",
                                                           "meter_number")
        assert account is not None
        assert account.username == "alice"
        _, html = await browser.get("/account/security?lang=en")
        assert "You are signed in with an identity provider." in text_of(html)
    finally:
        await browser.close()
    again = Browser(federated.url)  # later: straight in, no meter number
    try:
        assert await _round_trip(again) == (303, "/account/history")
        assert (await again.get("/account"))[0].status == 200
    finally:
        await again.close()
    actions = [e["payload"]["action"] for e in await log_entries(federated)
               if e["kind"] == "admin"]
    assert "account.oidc_linked" in actions


async def test_a_new_person_gets_a_household_that_claims_the_point(
        federated: Portal, provider: Provider) -> None:
    provider.user = {"sub": "fc-new-42", "name": "Nadia Nouvelle"}
    browser = Browser(federated.url)
    try:
        await _round_trip(browser)
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
        status, location = await _round_trip(browser)
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

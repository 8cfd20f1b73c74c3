"""Steps of an OpenID sign-in against the test provider (tests/support/oidc_provider.py), shared
by the sign-in and the linked-identity tests: the provider round trip, the link form, rows."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlmodel import select

from consent.identifiers import PointRef
from consent.identity import NO_PASSWORD
from consent.models import Account, ExternalIdentity
from tests.oauth.conftest import Browser
from tests.portal.helpers import log_entries, post
from tests.portal.world import BOB_PRM, PASSWORD, Portal
from tests.support.oidc_provider import Provider


async def round_trip(browser: Browser,
                     start: str = "/login/oidc?next=/account/history") -> tuple[int, str]:
    """``start`` (/login/oidc) -> provider -> callback; the callback's status and Location."""
    response, _ = await browser.get(start)
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


async def at_the_link_form(portal: Portal, provider: Provider, user: dict[str, str],
                           signed_in: bool) -> Browser:
    """``user``'s first sign-in through the provider, from Alice's signed-in browser or from an
    anonymous one: at the link form."""
    provider.user = dict(user)
    browser = Browser(portal.url)
    if signed_in:
        assert (await browser.login("alice", PASSWORD)).status == 303
    assert await round_trip(browser) == (303, "/login/oidc/link")
    return browser


async def submit_link(browser: Browser, portal: Portal, ref: PointRef,
               meter_number: str | None = None) -> tuple[int, str, str]:
    """Submit the link form; its status, Location and page (English)."""
    response, html = await post(browser, "/login/oidc/link?lang=en", {
        "source": ref.source.value, "identifier": ref.identifier,
        "meter_number": meter_number or portal.meter_number(ref)}, page="/login/oidc/link")
    return response.status, response.headers.get("Location", ""), html


async def links(portal: Portal) -> list[ExternalIdentity]:
    """Every linked identity, all accounts."""
    async with portal.db.session() as session:
        return list((await session.exec(select(ExternalIdentity))).all())


async def admin_events(portal: Portal) -> list[dict[str, Any]]:
    """The payloads of the evidence log's admin events, oldest first."""
    return [e["payload"] for e in await log_entries(portal) if e["kind"] == "admin"]


async def paper_household_links(portal: Portal, provider: Provider) -> Browser:
    """Bob's household loses its password (registered on paper: no way in), then Bob signs in
    through the provider and links by his meter number alone; his browser, signed in."""
    async with portal.db.session() as session:
        bob = await session.get(Account, portal.ids["bob_account"])
        assert bob is not None
        bob.password_hash = NO_PASSWORD
        session.add(bob)
    provider.user = {"sub": "fc-bob-0002", "name": "Bob Durand"}
    browser = Browser(portal.url)
    assert await round_trip(browser) == (303, "/login/oidc/link")
    assert (await submit_link(browser, portal, BOB_PRM))[:2] == (303, "/account/history")
    return browser

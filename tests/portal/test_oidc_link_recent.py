"""Linking a new OpenID identity to the signed-in household takes a *recent* sign-in
(proxy/portal/oidc_link.py), on both backends and both signed-in paths: the point its household
holds, and a free point claimed for it. Found by review: a household session left open on a
shared computer (12 h) plus a meter number read in the hallway let anyone link their own
provider account, a permanent way in; the session judged is the one from *before* the provider
round trip, not the new identity's fresh ``auth_time``."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from consent.identifiers import PointRef
from consent.models import MeteringPoint, PointClaim
from consent.services.queries import occupancy_at
from tests.oauth.conftest import Browser
from tests.portal.helpers import text_of
from tests.portal.oidc_flow import (
    admin_events,
    links,
    paper_household_links,
    round_trip,
    submit_link,
)
from tests.portal.world import ALICE_PCE, BOB_PRM, FREE_PRM, PASSWORD, Portal
from tests.support.oidc_provider import Provider

MALLORY = {"sub": "fc-mallory-000666", "name": "Mallory"}
PATHS = [pytest.param(ALICE_PCE, id="her-point"), pytest.param(FREE_PRM, id="free-point")]


async def _alice_at_the_link_form(portal: Portal, provider: Provider,
                                  signed_in_ago: timedelta) -> Browser:
    """Alice signed in by password ``signed_in_ago``; then, from her browser, Mallory's first
    sign-in through the provider reaches the link form."""
    browser = Browser(portal.url)
    assert (await browser.login("alice", PASSWORD)).status == 303
    portal.clock.advance(signed_in_ago)
    provider.user = dict(MALLORY)
    assert await round_trip(browser) == (303, "/login/oidc/link")
    return browser


async def _claims_and_free_occupant(portal: Portal) -> tuple[int, str | None]:
    async with portal.db.session() as session:
        claims = (await session.exec(select(PointClaim))).all()
        point = (await session.exec(select(MeteringPoint).where(
            MeteringPoint.identifier == FREE_PRM.identifier))).first()
        current = (await occupancy_at(session, point.id, portal.clock.now())
                   if point is not None else None)
    return len(claims), current.household_id if current is not None else None


@pytest.mark.parametrize("ref", PATHS)
async def test_a_stale_session_links_nothing_and_claims_nothing(
        federated_any: Portal, provider: Provider, ref: PointRef) -> None:
    portal = federated_any
    claims_before = await _claims_and_free_occupant(portal)
    browser = await _alice_at_the_link_form(portal, provider, timedelta(minutes=11))
    try:
        status, location, html = await submit_link(browser, portal, ref)
        assert (status, location) == (403, "")
        assert "You signed in to this account more than 10 minutes ago" in text_of(html)
        # The way forward: sign in to the account again, then with the provider again.
        [href] = re.findall(r'href="(/login\?next=[^"]+)"', html)
        assert href == "/login?next=%2Flogin%2Foidc%3Fnext%3D%2Faccount%2Fhistory"
        assert (await browser.get("/account"))[0].status == 200  # still Alice's, untouched
    finally:
        await browser.close()
    assert await links(portal) == []
    assert await _claims_and_free_occupant(portal) == claims_before
    events = await admin_events(portal)
    assert "account.oidc_linked" not in [e["action"] for e in events]
    [refused] = [e for e in events if e["action"] == "account.oidc_link_refused"]
    assert refused["actor"] == f"account:{portal.ids['alice_account']}"
    assert refused["target"] == str(ref)
    assert refused["details"] == {"issuer": provider.url, "subject": "…0666",
                                  "reason": "not_recent"}


@pytest.mark.parametrize("ref", PATHS)
async def test_a_recent_session_links(federated_any: Portal, provider: Provider,
                                      ref: PointRef) -> None:
    portal = federated_any
    browser = await _alice_at_the_link_form(portal, provider, timedelta(minutes=9))
    try:
        assert (await submit_link(browser, portal, ref))[:2] == (303, "/account/history")
    finally:
        await browser.close()
    [link] = await links(portal)
    assert (link.account_id, link.subject, link.proof) == (
        portal.ids["alice_account"], MALLORY["sub"], "session+meter_number")
    _, free_occupant = await _claims_and_free_occupant(portal)
    assert (free_occupant == portal.ids["alice"]) is (ref == FREE_PRM)


async def test_signing_in_again_from_the_refusal_then_links(federated: Portal,
                                                            provider: Provider) -> None:
    browser = await _alice_at_the_link_form(federated, provider, timedelta(hours=3))
    try:
        assert (await submit_link(browser, federated, ALICE_PCE))[0] == 403
        again = "/login/oidc?next=/account/history"
        assert (await browser.login("alice", PASSWORD, next_path=again)).status == 303
        assert await round_trip(browser) == (303, "/login/oidc/link")
        assert (await submit_link(browser, federated, ALICE_PCE))[0] == 303
    finally:
        await browser.close()
    assert [link.subject for link in await links(federated)] == [MALLORY["sub"]]


async def test_without_a_password_the_way_forward_is_the_providers_reauthentication(
        federated: Portal, provider: Provider) -> None:
    """Bob's account has no password, only his identity; his session is 11 minutes old."""
    browser = await paper_household_links(federated, provider)
    try:
        federated.clock.advance(timedelta(minutes=11))
        provider.user = dict(MALLORY)
        assert await round_trip(browser) == (303, "/login/oidc/link")
        status, _, html = await submit_link(browser, federated, BOB_PRM)
        assert status == 403
        assert 'href="/login/oidc?next=%2Faccount%2Fsecurity&amp;reauth=1"' in html
        assert "Sign in again with FranceConnect (test)" in text_of(html)
    finally:
        await browser.close()
    assert [link.subject for link in await links(federated)] == ["fc-bob-0002"]

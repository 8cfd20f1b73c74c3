"""The first OpenID sign-in proving a point nobody holds (proxy/portal/oidc_link.py), on both
backends: from a signed-in household's browser it claims the point for *that* household (found
by review: it used to create a new household beside it and switch the browser to it); from an
anonymous browser it still starts a household. Sessions record the identity they signed in
with, journal events never carry the whole subject, and a sign-in that loses the race to the
identity's removal starts nothing (409, never a 500), and the evidence of a decision names
the identity its session signed in with."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from consent import external_identities
from consent.models import (
    BrowserSession,
    ClaimMethod,
    ClaimOutcome,
    MeteringPoint,
    Occupancy,
    Party,
    PointClaim,
)
from consent.models.parties import Account
from consent.services.queries import occupancy_at
from proxy.portal import oidc
from tests.oauth.conftest import Browser
from tests.portal.helpers import consent, log_entries, post, text_of
from tests.portal.oidc_flow import admin_events, at_the_link_form, links, round_trip, submit_link
from tests.portal.world import ALICE_PCE, FREE_PRM, PASSWORD, Portal
from tests.support.oidc_provider import Provider

NADIA = {"sub": "fc-nadia-000042", "name": "Nadia Nouvelle"}


async def _free_point_rows(portal: Portal) -> tuple[Occupancy | None, list[PointClaim]]:
    async with portal.db.session() as session:
        point = (await session.exec(select(MeteringPoint).where(
            MeteringPoint.identifier == FREE_PRM.identifier))).one()
        current = await occupancy_at(session, point.id, portal.clock.now())
        claims = (await session.exec(select(PointClaim).where(
            PointClaim.point_id == point.id))).all()
    return current, list(claims)


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
async def test_proving_a_point_nobody_holds(federated_any: Portal, provider: Provider,
                                          signed_in: bool) -> None:
    portal = federated_any
    browser = await at_the_link_form(portal, provider, NADIA, signed_in)
    try:
        status, location, _ = await submit_link(browser, portal, FREE_PRM)
        assert (status, location) == (303, "/account/history")
        _, html = await browser.get("/account?lang=en")
        assert "Electricity · 30001610071843" in text_of(html)
        assert ("Watt Coach" in text_of(html)) is signed_in  # Alice's page, her consents
    finally:
        await browser.close()
    [link] = await links(portal)
    async with portal.db.session() as session:
        nadias = (await session.exec(select(Party).where(Party.name == NADIA["name"]))).all()
        account = await session.get(Account, link.account_id)
        [opened] = (await session.exec(select(BrowserSession).where(
            BrowserSession.account_id == link.account_id,
            col(BrowserSession.revoked_at).is_(None)))).all()
    assert account is not None
    if signed_in:
        assert nadias == []  # no household beside Alice's
        assert (link.account_id, link.proof) == (portal.ids["alice_account"],
                                                 "session+meter_number")
    else:
        assert [party.id for party in nadias] == [account.party_id]
        assert link.proof == "meter_number"
    current, claims = await _free_point_rows(portal)
    assert current is not None
    assert current.household_id == account.party_id
    [claim] = claims
    assert (claim.household_id, claim.account_id, claim.method, claim.outcome) == (
        account.party_id, account.id, ClaimMethod.METER_NUMBER, ClaimOutcome.ACCEPTED)
    assert claim.details["meter_number"] == "confirmed by the DSO"
    assert (opened.auth_method, opened.external_identity_id) == ("oidc", link.id)
    events = await admin_events(portal)
    [linked] = [e for e in events if e["action"] == "account.oidc_linked"]
    assert linked["actor"] == f"account:{account.id}"
    assert linked["details"] == {"issuer": provider.url, "subject": "…0042",
                                 "proof": link.proof,
                                 "identity": f"external_identity:{link.id}"}
    assert NADIA["sub"] not in json.dumps(events)


async def test_a_sign_in_through_an_identity_removed_meanwhile_starts_nothing(
        federated: Portal, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    """The owner removes the identity between the callback's lookup and its session's write:
    the session's foreign key refuses it; the page asks to start again (409)."""
    setup = Browser(federated.url)
    try:
        assert (await setup.login("alice", PASSWORD)).status == 303
        assert await round_trip(setup) == (303, "/login/oidc/link")
        assert (await submit_link(setup, federated, FREE_PRM))[0] == 303
    finally:
        await setup.close()
    [link] = await links(federated)
    real_sign_in = oidc.sign_in

    async def removed_first(request: Any, account: Account, **kwargs: Any) -> Any:
        async with federated.db.session() as session:
            await external_identities.remove_identity(session, account, link.id,
                                                      federated.clock.now())
        return await real_sign_in(request, account, **kwargs)

    monkeypatch.setattr(oidc, "sign_in", removed_first)
    browser = Browser(federated.url)
    try:
        status, location = await round_trip(browser)
        assert (status, location) == (409, "")
        assert (await browser.get("/account"))[0].status == 303
    finally:
        await browser.close()
    assert await links(federated) == []


async def test_a_decision_names_its_session_sign_in_pseudonymously(
        federated: Portal, provider: Provider) -> None:
    """The record names the account by its opaque id and the provider by its issuer, never the
    provider's subject (it would outlive an erasure in the log, GDPR art. 17); the sign-in
    instant is the session's own, which is what lets the provider's logs tell which of the
    account's identities it was (docs/evidence-format.md §8)."""
    first, second = Browser(federated.url), Browser(federated.url)
    started = federated.clock.now()
    try:
        for browser, sub in ((first, "fc-alice-0001"), (second, "fc-alice-0009")):
            provider.user = {"sub": sub, "name": "Alice Martin"}
            assert (await browser.login("alice", PASSWORD)).status == 303
            assert await round_trip(browser) == (303, "/login/oidc/link")
            assert (await submit_link(browser, federated, ALICE_PCE))[0] == 303
            federated.clock.advance(timedelta(minutes=1))
        row = await consent(federated, "alice_coach")
        response, _ = await post(first, f"/account/consents/{row.id}/withdraw",
                                 {"version": str(row.version)})
        assert response.status == 303
    finally:
        await first.close()
        await second.close()
    entries = await log_entries(federated)
    [record] = [e["payload"]["record"] for e in entries if e["kind"] == "consent.record"]
    assert record["action"] == "withdraw"
    auth = record["authentication"]
    assert (auth["method"], auth["subject"], auth["provider"]) == (
        "oidc", record["actor"]["account_id"], provider.url)
    assert started <= datetime.fromisoformat(auth["at"]) < started + timedelta(minutes=1)
    assert "fc-alice" not in json.dumps([e["payload"] for e in entries])

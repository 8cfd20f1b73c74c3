"""The first OpenID sign-in writes all or nothing (proxy/portal/oidc_link.py), on both backends.

Found by review: when nobody was signed in, the link step created a household for the person,
linked the identity, then claimed the point in a transaction of its own; a claim refused (the
point taken meanwhile) or failing unlinked the identity again, but the new household and its
account stayed behind. Every table of the database is counted before and after the attempt.
What may grow, and why, is said test by test: the only rows a refused attempt leaves are the
ones that record it (the throttle's count of a proof that did not hold; the refused claim of a
household that already existed, the claim evidence every household attempt leaves).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.claims import Claimant
from consent.errors import ConcurrentUpdate
from consent.models import (
    Account,
    ClaimMethod,
    ClaimOutcome,
    MeteringPoint,
    Occupancy,
    Party,
    PointClaim,
)
from consent.services import registry
from consent.vocabulary import Direction, Energy
from proxy.keys import claim_service_key
from proxy.portal import oidc_link
from proxy.portal.claims import verify_meter_number
from proxy.web.ratelimit import ACCOUNT_LIMIT
from tests.portal.helpers import text_of
from tests.portal.oidc_flow import admin_events, at_the_link_form, links, submit_link
from tests.portal.world import FREE_PRM, Portal
from tests.support.counts import growth, table_counts
from tests.support.oidc_provider import Provider

NADIA = {"sub": "fc-nadia-000042", "name": "Nadia Nouvelle"}
SIGNED_IN = pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])


async def _register_vacant(portal: Portal) -> None:
    """Passerelle knows :data:`FREE_PRM` (the operator registered it), nobody occupies it."""
    async with portal.db.session() as session:
        await registry.add_point(session, tenant_id="default", ref=FREE_PRM,
                                 energy=Energy.ELECTRICITY, directions=[Direction.CONSUMPTION],
                                 now=portal.clock.now())


async def _nadias(portal: Portal) -> list[Party]:
    async with portal.db.session() as session:
        return list((await session.exec(select(Party).where(
            Party.name == NADIA["name"]))).all())


async def _occupant(portal: Portal) -> str | None:
    async with portal.db.session() as session:
        rows = (await session.exec(select(Occupancy.household_id).join(
            MeteringPoint, col(MeteringPoint.id) == col(Occupancy.point_id)).where(
            MeteringPoint.identifier == FREE_PRM.identifier))).all()
    return rows[-1] if rows else None


@SIGNED_IN
async def test_a_claim_refused_because_the_point_was_taken_meanwhile_leaves_nothing(
        federated_any: Portal, provider: Provider, monkeypatch: pytest.MonkeyPatch,
        signed_in: bool) -> None:
    """Bob claims the point just after the link step found it vacant: the person's claim is
    refused (409). Nothing of the attempt stays: no household, account, link or session. A
    signed-in household's refused claim is recorded (``point_claim``), as ``/account/claim``
    records every attempt of a household; a household created for the attempt is not, since
    the household itself is not kept."""
    portal = federated_any
    await _register_vacant(portal)
    browser = await at_the_link_form(portal, provider, NADIA, signed_in)
    real_read = oidc_link.occupancy_at
    once: dict[str, dict[str, int]] = {}

    async def taken_meanwhile(session: AsyncSession, point_id: str,
                              at: datetime) -> Occupancy | None:
        found = await real_read(session, point_id, at)  # vacant: the claim path
        verified = await verify_meter_number(portal.app, FREE_PRM,
                                             portal.meter_number(FREE_PRM))
        bob = Claimant(portal.ids["bob"], portal.ids["bob_account"], "default")
        assert (await portal.app[claim_service_key].accept(
            bob, FREE_PRM, ClaimMethod.METER_NUMBER, verified.facts)).accepted
        once["after_bob"] = await table_counts(portal.db)
        return found

    monkeypatch.setattr(oidc_link, "occupancy_at", taken_meanwhile)
    before = await table_counts(portal.db)
    try:
        status, _, html = await submit_link(browser, portal, FREE_PRM)
        assert status == 409
        assert "already linked to another household" in text_of(html)
        assert (await browser.get("/account"))[0].status == (200 if signed_in else 303)
    finally:
        await browser.close()
    after = await table_counts(portal.db)
    # Bob's claim, and nothing of the attempt before it: the attempt had only read so far, and
    # counted itself in the throttle before the DSO's check (its two rows on PostgreSQL,
    # proxy/web/ratelimit.py), given back once the claim was refused: losing a race is no guess.
    counted = {"throttle_attempt": 2} if portal.db.dialect == "postgresql" else {}
    assert growth(before, once["after_bob"]) == {
        "occupancy": 1, "point_claim": 1, "upstream_authorisation": 1, **counted}
    assert growth(once["after_bob"], after) == (
        ({"point_claim": 1} if signed_in else {}) | {k: -n for k, n in counted.items()})
    assert await links(portal) == []
    assert await _nadias(portal) == []
    assert await _occupant(portal) == portal.ids["bob"]
    async with portal.db.session() as session:
        refused = (await session.exec(select(PointClaim).where(
            PointClaim.outcome == ClaimOutcome.REFUSED))).all()
    assert [(c.household_id, c.account_id, c.reason, c.details["via"]) for c in refused] == (
        [(portal.ids["alice"], portal.ids["alice_account"], "occupied_by_another_household",
          "oidc link, signed in")] if signed_in else [])
    assert "account.oidc_linked" not in [e["action"] for e in await admin_events(portal)]


#: What breaks in the middle of the claim, and the answer: the database connection drops (503,
#: retry), or a concurrent writer got there first (409, :class:`ConcurrentUpdate`).
FAILURES = [
    pytest.param(True, ConnectionResetError("connection dropped"), 503, id="signed-in-outage"),
    pytest.param(False, ConnectionResetError("connection dropped"), 503, id="anonymous-outage"),
    pytest.param(False, ConcurrentUpdate("changed meanwhile"), 409, id="anonymous-conflict")]


@pytest.mark.parametrize(("signed_in", "error", "answer"), FAILURES)
async def test_a_claim_that_fails_leaves_nothing_and_can_be_retried(
        federated_any: Portal, provider: Provider, monkeypatch: pytest.MonkeyPatch,
        signed_in: bool, error: Exception, answer: int) -> None:
    """The claim fails after the point was registered and the move-in written: an error page,
    never a 500, and not a row left, the point's registration included; the same sign-in then
    succeeds once, with one household."""
    portal = federated_any
    occupancy = portal.app[claim_service_key].occupancy
    real_move_in = occupancy.move_in_within

    async def failing(*args: Any, **kwargs: Any) -> Any:
        await real_move_in(*args, **kwargs)
        raise error

    monkeypatch.setattr(occupancy, "move_in_within", failing)
    browser = await at_the_link_form(portal, provider, NADIA, signed_in)
    try:
        before = await table_counts(portal.db)
        status, _, _ = await submit_link(browser, portal, FREE_PRM)
        assert status == answer
        assert growth(before, await table_counts(portal.db)) == {}
        assert await links(portal) == []
        monkeypatch.undo()
        status, location, _ = await submit_link(browser, portal, FREE_PRM)
        assert (status, location) == (303, "/account/history")
    finally:
        await browser.close()
    [link] = await links(portal)
    async with portal.db.session() as session:
        account = await session.get(Account, link.account_id)
    assert account is not None
    assert await _occupant(portal) == account.party_id
    assert [party.id for party in await _nadias(portal)] == (
        [] if signed_in else [account.party_id])
    assert (account.id == portal.ids["alice_account"]) is signed_in


async def test_a_dso_that_does_not_answer_leaves_nothing(federated_any: Portal,
                                                         provider: Provider) -> None:
    """The DSO is down when asked to confirm the meter number: a 502 page saying so, nothing
    linked or created, and not even a count against the throttle (on PostgreSQL its counters
    are rows, ``throttle_attempt``): the DSO checked nothing, so the person guessed nothing."""
    portal = federated_any
    browser = await at_the_link_form(portal, provider, NADIA, False)
    try:
        before = await table_counts(portal.db)
        portal.simulator.faults.next("unavailable")
        status, _, html = await submit_link(browser, portal, FREE_PRM)
        assert status == 502
        assert "The grid operator is not answering right now" in text_of(html)
        assert growth(before, await table_counts(portal.db)) == {}
    finally:
        await browser.close()
    assert await links(portal) == []
    assert await _nadias(portal) == []


async def test_dso_outages_are_no_guesses_for_the_sign_in_throttle(
        federated_any: Portal, provider: Provider) -> None:
    """More outages than the throttle allows failed proofs, then the DSO answers again: the
    link goes through (a count per outage would have answered 429)."""
    portal = federated_any
    browser = await at_the_link_form(portal, provider, NADIA, False)
    try:
        for _ in range(ACCOUNT_LIMIT + 1):
            portal.simulator.faults.next("unavailable")
            status, _, _ = await submit_link(browser, portal, FREE_PRM)
            assert status == 502
        status, location, _ = await submit_link(browser, portal, FREE_PRM)
        assert (status, location) == (303, "/account/history")
    finally:
        await browser.close()
    assert len(await links(portal)) == 1

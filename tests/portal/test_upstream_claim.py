"""Claiming points through the DSO's own consent page (R15), against a fake DSO page on
127.0.0.1 (tests/support/dso_consent.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from consent.models import ClaimMethod, ClaimOutcome, Occupancy, PointClaim
from tests.oauth.conftest import Browser
from tests.portal.helpers import text_of
from tests.portal.world import BOB_PRM, FREE_PRM, PASSWORD, Portal, start
from tests.support.databases import SqliteFactory
from tests.support.dso_consent import ConsentPageAdapter, serve


@pytest.fixture
async def world(sqlite_factory: SqliteFactory,
                tmp_path: Path) -> AsyncIterator[tuple[Portal, ConsentPageAdapter]]:
    made: dict[str, ConsentPageAdapter] = {}

    def factory(simulator: Any) -> ConsentPageAdapter:
        made["dso"] = ConsentPageAdapter(simulator)
        return made["dso"]

    url = sqlite_factory.create()
    async for portal in start(url, tmp_path / "instance", adapter_factory=factory):
        async for dso in serve(made["dso"]):
            yield portal, dso
    sqlite_factory.drop(url)


async def _through_the_dso(browser: Browser) -> str:
    response, _ = await browser.get("/account/claim/upstream?source=enedis")
    assert response.status == 303
    response, _ = await browser.get(response.headers["Location"])  # the DSO's page agrees
    assert response.status == 302
    return str(response.headers["Location"])


async def test_the_dsos_word_links_the_consented_points(
        world: tuple[Portal, ConsentPageAdapter]) -> None:
    portal, dso = world
    browser = Browser(portal.url)
    try:
        await browser.login("alice", PASSWORD, next_path="/account")
        _, html = await browser.get("/account/claim?lang=en")
        assert "Continue at Enedis (electricity, France)" in text_of(html)
        dso.consenting = (FREE_PRM,)
        back = await _through_the_dso(browser)
        # The query names Bob's point too: it is ignored, only the redeemed code counts.
        response, _ = await browser.get(back.replace("usage_point_id=",
                                                     f"usage_point_id={BOB_PRM.identifier},"))
        assert response.status == 303
        _, html = await browser.get("/account?lang=en")
        assert "linked through your grid operator: enedis:30001610071843" in text_of(html)
        async with portal.db.session() as session:
            claims = (await session.exec(select(PointClaim))).all()
            occupants = (await session.exec(select(Occupancy.household_id).where(
                Occupancy.point_id == portal.ids[str(BOB_PRM)]))).all()
        assert [(c.point, c.method, c.outcome) for c in claims] == [
            (str(FREE_PRM), ClaimMethod.UPSTREAM, ClaimOutcome.ACCEPTED)]
        assert occupants == [portal.ids["bob"]]
        response, _ = await browser.get(back)  # the code and the state were single use
        assert response.status == 400
    finally:
        await browser.close()


async def test_a_state_from_another_browser_is_refused(
        world: tuple[Portal, ConsentPageAdapter]) -> None:
    portal, dso = world
    dso.consenting = (FREE_PRM,)
    alice, bob = Browser(portal.url), Browser(portal.url)
    try:
        await alice.login("alice", PASSWORD, next_path="/account")
        await bob.login("bob", "bob-portal-password", next_path="/account")
        back = await _through_the_dso(alice)
        response, _ = await bob.get(back)  # Bob replays Alice's return address
        assert response.status == 400
        async with portal.db.session() as session:
            assert (await session.exec(select(PointClaim))).all() == []
    finally:
        await alice.close()
        await bob.close()

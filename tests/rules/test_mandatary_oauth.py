"""R10, R11 on the OAuth path: a CPAS social worker decides on the consent page for a household
its organisation holds a mandate of, within that mandate; beyond it, refused and journaled; for
several households, one at a time, each household's meters under its name."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from sqlmodel import col, select

from consent.lifecycle import ActorRole
from consent.models import (
    Consent,
    ConsentEvent,
    ConsentPoint,
    MandateScope,
    MeteringPoint,
    StaffAction,
)
from consent.services import MandateDraft, MandateService
from consent.vocabulary import Dataset
from tests.oauth.conftest import forms_of
from tests.oauth.helpers import pkce
from tests.rules.app_world import POINTS, RulesWorld


async def _consent_page(w: RulesWorld, browser: aiohttp.ClientSession, scope: str,
                        ) -> tuple[str, str, list[tuple[str, str]]]:
    base = str(w.client.make_url(""))
    _verifier, challenge = pkce()
    url = "/oauth2/authorize?" + urlencode({
        "response_type": "code", "client_id": w.clients["pmo"][0],
        "redirect_uri": "https://pmo.example/cb", "scope": scope, "state": "s",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    async with browser.get(base + "/login") as r:
        fields = dict(forms_of(await r.text())[-1]["fields"])
    async with browser.post(base + "/login", data={**fields, "username": "marc",
                                                   "password": "pw-marc", "next": url},
                            allow_redirects=False) as r:
        assert r.status == 303
    async with browser.get(base + url) as r:
        html = await r.text()
        assert r.status == 200, html
    form = next(f for f in forms_of(html) if ("decision", "approve") in f["buttons"])
    return base, html, form["fields"]


async def _approve(base: str, browser: aiohttp.ClientSession, url: str,
                   fields: list[tuple[str, str]]) -> Any:
    async with browser.post(base + url.replace("&amp;", "&"),
                            data=[*fields, ("decision", "approve")],
                            allow_redirects=False) as r:
        return r.status, r.headers.get("Location", ""), await r.text()


async def test_a_social_worker_consents_for_an_assisted_household(app_world: RulesWorld) -> None:
    w = app_world
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        base, html, fields = await _consent_page(w, browser, "daily_consumption")
        assert ("household", w.parties["h6"]) in fields
        assert [v for k, v in fields if k == "point"] == [str(POINTS[6])]  # not POINTS[7]
        action = next(f for f in forms_of(html) if f["buttons"])["action"]
        status, location, _ = await _approve(base, browser, action, fields)
    assert status == 303
    assert "code" in parse_qs(urlsplit(location).query)
    async with w.db.session() as s:
        consent = (await s.exec(select(Consent).where(Consent.recipient_id == w.apps["pmo"],
                                                      Consent.grantor_id == w.parties["h6"]))
                   ).one()
        events = (await s.exec(select(ConsentEvent).where(
            ConsentEvent.consent_id == consent.id))).all()
    assert consent.mandate_id == w.mandate_id
    assert {(e.actor_role, e.actor_party_id) for e in events} == {
        (ActorRole.MANDATARY, w.parties["marc"])}


async def test_a_social_worker_beyond_the_mandate_is_refused_and_journaled(
        app_world: RulesWorld) -> None:
    w = app_world
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        base, html, fields = await _consent_page(w, browser, "daily_max_power")
        action = next(f for f in forms_of(html) if f["buttons"])["action"]
        status, _location, page = await _approve(base, browser, action, fields)
    assert status == 400
    assert "mandat ne couvre pas" in page or "mandate does not cover" in page
    async with w.db.session() as s:
        [entry] = (await s.exec(select(StaffAction))).all()
        assert (await s.exec(select(Consent).where(
            Consent.grantor_id == w.parties["h6"]))).all() == []
    assert (entry.action, entry.outcome, entry.details["rule"]) == (
        "mandatary.give_consent", "denied", "R10")
    assert entry.party_id == w.parties["marc"]


async def test_a_social_worker_for_two_households_shares_what_the_page_ticked(
        app_world: RulesWorld) -> None:
    """Acting for two households, the page listed both households' meters in one list, all
    ticked and unnamed; approving shared the chosen household's only and dropped the others
    silently. Each household's meters are now under its name, only the chosen one's are ticked,
    and a ticked meter of the other household is refused (400) rather than dropped."""
    w = app_world
    await MandateService(w.db, w.clock).give(w.actor("h0"), MandateDraft(
        w.parties["h0"], w.parties["cpas"], MandateScope.BOTH, [POINTS[0]],
        [Dataset.DAILY_CONSUMPTION]))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        base, html, fields = await _consent_page(w, browser, "daily_consumption")
        assert "of the household h0" in html or "du ménage h0" in html
        assert "of the household h6" in html or "du ménage h6" in html
        household = dict(fields)["household"]
        other = str(POINTS[0] if household == w.parties["h6"] else POINTS[6])
        ticked = [v for k, v in fields if k == "point"]
        assert ticked
        assert other not in ticked
        action = next(f for f in forms_of(html) if f["buttons"])["action"]
        status, _location, page = await _approve(base, browser, action, [*fields, ("point", other)])
        assert status == 400
        assert "another household than the one chosen" in page or "autre ménage" in page
        status, _location, _ = await _approve(base, browser, action, fields)
    assert status == 303
    async with w.db.session() as s:
        consent = (await s.exec(select(Consent).where(Consent.recipient_id == w.apps["pmo"],
                                                      Consent.grantor_id == household,
                                                      col(Consent.mandate_id).is_not(None)))).one()
        shared = [f"{r.source}:{r.identifier}" for r in (await s.exec(
            select(MeteringPoint).join(ConsentPoint, col(ConsentPoint.point_id) == MeteringPoint.id)
            .where(ConsentPoint.consent_id == consent.id))).all()]
    assert sorted(ticked) == sorted(shared)

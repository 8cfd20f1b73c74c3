"""The consent text is versioned and hashed; the page shows the version, the form carries it,
and a decision posted against a text that has changed since is not recorded."""

from __future__ import annotations

import json

import sqlalchemy as sa

from consent.models import Consent
from proxy.web.consent_text import CONSENT_TEXT_VERSION, consent_notice, consent_text
from tests.audit.flow import REDIRECT, consent_through_oauth
from tests.oauth.conftest import Browser, forms_of, query_of
from tests.proxy.world import PASSWORD, USERNAME, World

#: The hashes of the current version. When a test below fails, the consent page's wording
#: changed: raise CONSENT_TEXT_VERSION (a household agreed to the old text) and pin the new
#: hashes here.
PINNED = {"oauth-consent/1": {
    "fr": "063ef9396c88d2a5302f52cdee6bfb993ca3f4d3a3a092a442109646f3b06699",
    "en": "e9c9ea31da71054206a2fa95ac866830be6837f74fb93af2aa94ad48693aca73"},
    # Meters grouped by household, at most two ticked, their refusals worded (session 15).
    "oauth-consent/2": {
    "fr": "8de3b5de568634bdd05ad3b390f7a19140f46c5f696b756f4523e0b3fe8036d8",
    "en": "e67848826af2f5681b1f86700d8be3d07c0f8416738a554f38068acbe627c309"},
    # R14 counted with the meters the app already holds: the refusal says so.
    "oauth-consent/3": {
    "fr": "2623eebe6ea5d24d169d38f1611e4934c1a0bbc27ff7a1884ce2f923bd83d127",
    "en": "59baafe6313fa980174e8e47d6dcad4a67243e9b5fe4afa2fd44ff3a13ab7d02"},
    # ... and what the app may do with the data: each meter alone, or a community's total (R4).
    "oauth-consent/4": {
    "fr": "dbd8483ac0d7b774a70bf6694589ba87d0ee809787cb0e0c69498b8740c96af7",
    "en": "f4b0de182aa98efe3a1e4335e44364bfdf90b28a6da62ccbfe587e04916307bd"},
    # ... and the meters the app already holds, ticked and counted before the household decides.
    "oauth-consent/5": {
    "fr": "c897d93985f7e352d973ba8878e4343871420131ce3867a15559d7bb4d19f071",
    "en": "9ae5c74a1a937254876807773f6991dc24494ab0cc302553fb86116e7753c84e"},
    # ... whose count is of the household's meters, not only of those the page shows.
    "oauth-consent/6": {
    "fr": "2a45195a58f8190f193d753b480b948ed5921d047b422d1a49e28b9227dc3444",
    "en": "422faa67895f2b7bf2924edbc8791252e28ffe77643052fc5b317f01f5c3482d"}}


def test_the_wording_cannot_change_without_a_new_version() -> None:
    for lang in ("fr", "en"):
        notice = consent_notice(lang)
        assert PINNED[CONSENT_TEXT_VERSION][lang] == notice.sha256, (
            "the consent text changed: raise CONSENT_TEXT_VERSION and pin the new hashes")
        text = json.loads(consent_text(lang))
        assert text["language"] == lang
        assert "consent.approve" in text["messages"]
    assert consent_notice("fr").sha256 != consent_notice("en").sha256


async def _consent_page(world: World, browser: Browser) -> tuple[str, list[tuple[str, str]],
                                                                 str]:
    client_id, _ = world.credentials["coach"]
    url = (f"/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}"
           "&scope=daily_consumption&code_challenge=" + "a" * 43 + "&code_challenge_method=S256"
           "&state=s1")
    response, _ = await browser.get(url)
    login = await browser.login(USERNAME, PASSWORD,
                                query_of(response.headers["Location"])["next"])
    response, html = await browser.get(login.headers["Location"])
    assert response.status == 200, html
    form = next(f for f in forms_of(html) if ("decision", "approve") in f["buttons"])
    return form["action"].replace("&amp;", "&"), form["fields"], html


async def test_a_decision_on_a_stale_text_is_shown_again(world: World) -> None:
    browser = Browser(str(world.client.make_url("")).rstrip("/"))
    try:
        action, fields, html = await _consent_page(world, browser)
        notice = consent_notice("fr")
        assert ("notice", f"{notice.version} fr {notice.sha256}") in fields
        assert CONSENT_TEXT_VERSION in html
        stale = [(k, "oauth-consent/0 fr " + "0" * 64 if k == "notice" else v)
                 for k, v in fields]
        response, html = await browser.post(action, [*stale, ("decision", "approve")])
        assert response.status == 409
        assert "a changé" in html
    finally:
        await browser.close()
    async with world.db.engine.connect() as conn:  # no new consent: the household decides again
        count = (await conn.execute(sa.select(sa.func.count()).select_from(
            Consent.__table__))).scalar_one()  # type: ignore[attr-defined]
    assert count == len(world.consents)
    token = await consent_through_oauth(world)  # the fresh page still works
    assert token["consent_id"]

"""The Data Connect consent page in a real browser: the household's answer goes through
Passerelle's callback on to the app, which Chromium allows only if the page's CSP
``form-action`` names the app's origin (it applies to every redirect of a form's answer).

Found by a review: the page allowed Passerelle's own origin only, so Chromium stopped the
answer at the callback's redirect; the consent was active and the app never heard of it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import registry
from consent.vocabulary import Dataset
from proxy.compat.enedis.oauth import CALLBACK_PATH
from tests.browser.test_portal_browser import ARGS, CHROMIUM, _chromium_or_skip
from tests.portal.world import ALICE_PRM, PASSWORD, start
from tests.support.databases import SqliteFactory

pytestmark = pytest.mark.browser


async def test_a_data_connect_consent_reaches_the_app(sqlite_factory: SqliteFactory,
                                                      tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    _chromium_or_skip()
    url = sqlite_factory.create()
    answers: list[dict[str, list[str]]] = []
    blocked: list[str] = []  # Chromium's console: a CSP refusal is written there
    async for portal in start(url, tmp_path / "instance"):
        port = unused_port()
        target = f"http://127.0.0.1:{port}/dc-return"

        async def landing(request: web.Request) -> web.Response:
            answers.append(parse_qs(request.query_string))
            return web.Response(text="<!doctype html><html lang='en'><title>app</title>"
                                     "<h1>Connected</h1></html>", content_type="text/html")

        app = web.Application()
        app.router.add_get("/dc-return", landing)
        app_server = TestServer(app, host="127.0.0.1", port=port)
        await app_server.start_server()
        async with portal.db.session() as session:
            recipient, _ = await registry.register_recipient(session, registry.RecipientDraft(
                name="DC App", website="https://dc.example", contact_email="dpo@dc.example",
                purposes=[Purpose.ENERGY_MONITORING], legal_basis=LegalBasis.CONSENT,
                data_role=DataRole.CONTROLLER, allowed_datasets=[Dataset.DAILY_CONSUMPTION],
                redirect_uris=[portal.url + CALLBACK_PATH, target]),
                tenant_id="default", now=portal.clock.now())
        authorize = portal.url + "/compat/enedis/dataconnect/v1/oauth2/authorize?" + urlencode(
            {"client_id": recipient.client_id, "response_type": "code", "state": "s1",
             "duration": "P1Y"})
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                page = await browser.new_page(locale="fr-FR")
                page.on("console", lambda m: blocked.append(m.text))
                try:
                    await page.goto(authorize)
                    await page.get_by_label("Identifiant").fill("alice")
                    await page.get_by_label("Mot de passe").fill(PASSWORD)
                    await page.get_by_role("button", name="Se connecter").click()
                    # The page names where the browser goes next: the app, not Passerelle.
                    assert f"127.0.0.1:{port}" in await page.content()
                    async with page.expect_navigation(url=target + "*"):
                        await page.get_by_role("button", name="Accepter").click()
                finally:
                    await browser.close()
        finally:
            await app_server.close()
        assert len(answers) == 1, blocked
        assert answers[0]["state"] == ["s1"]
        assert answers[0]["usage_point_id"] == [ALICE_PRM.identifier]
        assert answers[0]["code"][0]
    sqlite_factory.drop(url)

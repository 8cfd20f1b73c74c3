"""The household portal in a real browser: Debian's Chromium driven by Playwright against a real
Passerelle on 127.0.0.1, with a real third-party app (its own small server) on the other side.

One walk through everything a household does, in order: sign in; consent from the app's
authorize request; the overview; narrowing; withdrawal followed by the app's next request being
refused; the access history; the consumption charts; a mandate with its proof upload; the
language switch; an id tampered with in the URL. Every page is photographed at desktop and
phone sizes into ``test-artifacts/screenshots/`` (looked at by a person; see the report).

Chromium missing: the suite is skipped, unless ``CI=true`` (then it fails).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import registry
from consent.vocabulary import Dataset
from tests.evidence.documents import pdf
from tests.portal.world import ALICE_PRM, PASSWORD, Portal, start
from tests.support.databases import SqliteFactory

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _chromium_or_skip() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing at /usr/bin/chromium and CI=true", pytrace=False)
        pytest.skip("Chromium is not installed at /usr/bin/chromium")


class App:
    """A third-party app: asks for consent, exchanges its code, reads data with the token."""

    def __init__(self, passerelle: str) -> None:
        self.passerelle = passerelle
        self.port = unused_port()
        self.redirect_uri = f"http://127.0.0.1:{self.port}/callback"
        self.client_id = ""
        self.secret = ""
        self.recipient_id = ""
        self.verifier = secrets.token_urlsafe(48)
        self.state = secrets.token_urlsafe(16)
        self.token: str | None = None

    def authorize_url(self) -> str:
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(self.verifier.encode()).digest()).decode().rstrip("=")
        return self.passerelle + "/oauth2/authorize?" + urlencode({
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_uri, "state": self.state,
            "scope": "daily_consumption consumption_load_curve", "code_challenge": challenge,
            "code_challenge_method": "S256"})

    async def callback(self, request: web.Request) -> web.Response:
        assert request.query["state"] == self.state
        async with aiohttp.ClientSession() as http, http.post(
                self.passerelle + "/oauth2/token",
                headers={"Authorization": aiohttp.encode_basic_auth(self.client_id,
                                                                    self.secret)},
                data={"grant_type": "authorization_code", "code": request.query["code"],
                      "redirect_uri": self.redirect_uri,
                      "code_verifier": self.verifier}) as response:
            body = await response.json()
        self.token = body.get("access_token")
        return web.Response(text="<!doctype html><html lang='en'><title>Energy Coach</title>"
                                 "<h1>Connected to Passerelle</h1></html>",
                            content_type="text/html")

    async def read(self) -> int:
        """The app's next request: last week's daily consumption of Alice's meter."""
        async with aiohttp.ClientSession() as http, http.get(
                f"{self.passerelle}/api/v1/points/{ALICE_PRM}/datasets/daily_consumption",
                params={"start": "2026-11-14", "end": "2026-11-21"},
                headers={"Authorization": f"Bearer {self.token}"}) as response:
            return response.status


@pytest.fixture
async def world(sqlite_factory: SqliteFactory, tmp_path: Path) -> AsyncIterator[tuple[Portal,
                                                                                      App]]:
    _chromium_or_skip()
    url = sqlite_factory.create()
    async for portal in start(url, tmp_path / "instance"):
        app = App(portal.url)
        async with portal.db.session() as session:
            recipient, secret = await registry.register_recipient(session, registry.RecipientDraft(
                name="Energy Coach", website="https://energy-coach.example",
                contact_email="privacy@energy-coach.example",
                purposes=[Purpose.ENERGY_MONITORING], legal_basis=LegalBasis.CONSENT,
                data_role=DataRole.CONTROLLER,
                allowed_datasets=[Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE],
                redirect_uris=[app.redirect_uri]), tenant_id="default", now=portal.clock.now())
        app.client_id, app.secret, app.recipient_id = recipient.client_id, secret, recipient.id
        server = web.Application()
        server.router.add_get("/callback", app.callback)
        test_server = TestServer(server, host="127.0.0.1", port=app.port)
        await test_server.start_server()
        try:
            yield portal, app
        finally:
            await test_server.close()
    sqlite_factory.drop(url)


async def shot(page: Any, name: str) -> None:
    """Photograph the page at desktop and phone width (full page), then back to desktop."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        await page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


async def test_a_household_walks_through_its_portal(world: tuple[Portal, App]) -> None:
    from playwright.async_api import async_playwright, expect

    portal, app = world
    base = portal.url
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = await browser.new_context(viewport=DESKTOP, locale="fr-FR")
        page = await context.new_page()
        failed: list[str] = []  # Passerelle answers >= 400 (only the tampered id may be one)
        page.on("response", lambda r: failed.append(r.url)
                if r.status >= 400 and r.url.startswith(base) else None)
        try:
            # -- sign in (keyboard: the skip link is the first stop) -------------------------
            await page.goto(base + "/login?next=/account")
            await shot(page, "01-login")
            await page.keyboard.press("Tab")
            assert await page.evaluate("document.activeElement.className") == "skip"
            await page.get_by_label("Identifiant").fill("alice")
            await page.get_by_label("Mot de passe").fill(PASSWORD)
            await page.get_by_role("button", name="Se connecter").click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                "Qui lit mes données de compteur")

            # -- consent from the app's authorize request --------------------------------------
            await page.goto(app.authorize_url())
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                "Autoriser l'accès à vos données")
            await shot(page, "02-consent-request")
            await page.get_by_role("button", name="Accepter").click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                "Connected to Passerelle")
            assert app.token is not None
            assert await app.read() == 200

            # -- overview ---------------------------------------------------------------------
            await page.goto(base + "/account")
            coach = page.locator("article.card", has_text="Energy Coach").first  # both meters
            await expect(coach).to_contain_text("Courbe de charge de consommation")
            await expect(coach).to_contain_text("1 lecture sur les 20 derniers mois")
            await shot(page, "03-overview")

            # -- narrowing: no more load curve --------------------------------------------------
            await coach.get_by_role("link", name="Energy Coach").click()
            await shot(page, "04-consent")
            await page.get_by_label("Courbe de charge de consommation").uncheck()
            await page.get_by_role("button", name="Restreindre l'accès").click()
            await expect(page.get_by_role("status")).to_contain_text("est restreint")
            await expect(page.locator("dl.terms").first).not_to_contain_text("Courbe de charge")
            await shot(page, "05-narrowed")
            assert await app.read() == 401  # the wider consent's token is dead

            # -- withdrawal, and the app's next request is refused --------------------------------
            app.state = secrets.token_urlsafe(16)
            portal.clock.advance(timedelta(minutes=5))  # the new consent is the newest shown
            await page.goto(app.authorize_url())  # the app asks again, gets a fresh token
            await page.get_by_role("button", name="Accepter").click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                "Connected to Passerelle")
            assert await app.read() == 200
            await page.goto(base + "/account")
            await page.locator("article.card", has_text="Energy Coach").get_by_role(
                "link", name="Energy Coach").first.click()
            await page.get_by_role("button", name="Retirer l'accès maintenant").click()
            await expect(page.get_by_role("status")).to_contain_text(
                "Energy Coach n'a plus accès à ces données")
            await shot(page, "06-withdrawn")
            assert await app.read() == 401

            # -- access history ---------------------------------------------------------------
            await page.goto(base + "/account/history")
            await expect(page.locator("table").last).to_contain_text("Energy Coach")
            await expect(page.locator("figure.chart svg.wide rect.bar").first).to_be_visible()
            await page.get_by_label("Application").select_option(label="Energy Coach")
            await page.get_by_role("button", name="Afficher").click()
            await expect(page).to_have_url(f"{base}/account/history?recipient="
                                           f"{app.recipient_id}&dataset=&days=30")
            await shot(page, "07-history")

            # -- charts ------------------------------------------------------------------------
            for view in ("month", "day", "year"):
                await page.goto(f"{base}/account/data?view={view}")
                chart = page.locator("figure.chart svg.wide").first
                await expect(chart).to_be_visible()
                bars = await chart.locator("rect.bar").count()
                assert bars >= 3, view  # three years in the year view, more elsewhere
                box = await chart.bounding_box()
                assert box is not None
                assert box["width"] > 600
                await shot(page, f"08-data-{view}")
            await page.set_viewport_size(PHONE)
            await expect(page.locator("figure.chart svg.narrow").first).to_be_visible()
            await expect(page.locator("figure.chart svg.wide").first).to_be_hidden()
            await page.set_viewport_size(DESKTOP)

            # -- a mandate with its proof upload ------------------------------------------------
            await page.goto(base + "/account/mandates/new")
            await page.get_by_label("CPAS de Namur").check()
            await page.get_by_label("lire mes données", exact=True).check()
            await page.get_by_label("Électricité · 22516914714270").check()
            await page.get_by_label("Consommation quotidienne").check()
            await page.get_by_label("Jusqu'au (inclus)").fill("2027-06-30")
            await page.get_by_label("Sur papier").check()
            await shot(page, "09-mandate-new")
            await page.get_by_role("button", name="Continuer").click()
            await expect(page.get_by_role("status")).to_contain_text("Mandat préparé")
            await page.get_by_label("Fichier").set_input_files(files=[{
                "name": "mandat-signe.pdf", "mimeType": "application/pdf", "buffer": pdf()}])
            await page.get_by_role("button", name="Envoyer le document").click()
            await expect(page.get_by_role("status")).to_contain_text("mandat-signe.pdf")
            await page.get_by_role("button", name="Demander la vérification").click()
            await expect(page.get_by_role("heading", level=1)).to_contain_text(
                "en cours de vérification")
            await shot(page, "10-mandate-review")

            # -- the meter's user port: ask, and see the request tracked ---------------------------
            await page.goto(base + "/account/port")
            await page.get_by_role("button", name="Demander").first.click()
            await expect(page.get_by_role("status")).to_contain_text("24 heures")
            await expect(page.locator("table")).to_contain_text("en cours")
            await shot(page, "11-port")

            # -- the other pages, photographed -----------------------------------------------------
            for name, path in (("12-claim", "/account/claim"),
                               ("13-security", "/account/security"),
                               ("14-evidence", "/account/evidence"),
                               ("15-grant", f"/account/consents/new?recipient="
                                            f"{portal.ids['soleil']}")):
                await page.goto(base + path)
                await expect(page.get_by_role("heading", level=1)).to_be_visible()
                await shot(page, name)

            # -- language switch ---------------------------------------------------------------
            await page.goto(base + "/account")
            await page.get_by_role("link", name="English").click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                "Who reads my meter data")
            assert await page.get_attribute("html", "lang") == "en"
            await page.goto(base + "/account/history")  # remembered
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                "Who read my data, and when")
            await shot(page, "16-english")

            # -- dark mode (the stylesheet's own palette, same contrast rules) ---------------------
            await page.emulate_media(color_scheme="dark")
            await page.goto(base + "/account/data?view=month")
            await shot(page, "17-dark")
            await page.emulate_media(color_scheme="light")

            # -- an id tampered with in the URL -------------------------------------------------
            response = await page.goto(f"{base}/account/consents/{portal.ids['bob_coach']}")
            assert response is not None
            assert response.status == 404
            await expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
            await expect(page.locator("main")).not_to_contain_text("Bob")
            await shot(page, "18-tampered")
            assert failed == [f"{base}/account/consents/{portal.ids['bob_coach']}"]
        finally:
            await context.close()
            await browser.close()


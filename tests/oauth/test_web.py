"""The household web machinery: sign-in, throttling, session cookie, CSRF, languages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer, unused_port

from consent.clock import FrozenClock
from proxy.app import create_app
from proxy.settings import Settings
from proxy.web.i18n import check_catalogue, from_accept_language
from proxy.web.login import safe_next
from tests.oauth.conftest import CSRF_RE, Browser, Running, forms_of
from tests.oauth.helpers import authorize_url
from tests.support.databases import SqliteFactory


def session_cookie(browser: Browser, name: str = "passerelle") -> str:
    return next(c.value for c in browser.session.cookie_jar if c.key == name)


async def test_login_rotates_the_session_and_sets_safe_cookie_flags(
        passerelle: Running, browser: Browser) -> None:
    response, html = await browser.get("/login")
    cookie = response.cookies["passerelle"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain-http development instance
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    before = session_cookie(browser)
    login = await browser.login(next_path="/register")
    assert login.status == 303
    assert login.headers["Location"] == "/register"
    assert session_cookie(browser) != before


async def test_wrong_password_and_unknown_user_look_the_same(passerelle: Running,
                                                            browser: Browser) -> None:
    wrong = await browser.login(password="nope")
    unknown = await browser.login(username="mallory", password="nope")
    assert wrong.status == unknown.status == 200
    assert "Location" not in wrong.headers
    assert "Location" not in unknown.headers


async def test_login_is_throttled_per_account(passerelle: Running, browser: Browser) -> None:
    for _ in range(5):
        assert (await browser.login(password="wrong")).status == 200
    blocked = await browser.login()  # even the right password, for now
    assert blocked.status == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 900
    passerelle.clock.advance(timedelta(minutes=15, seconds=1))
    assert (await browser.login()).status == 303


async def test_login_is_throttled_per_address(passerelle: Running, browser: Browser) -> None:
    for i in range(20):
        await browser.login(username=f"user{i}", password="wrong")
    assert (await browser.login()).status == 429


async def test_forms_without_a_valid_csrf_token_are_refused(passerelle: Running,
                                                           browser: Browser) -> None:
    await browser.get("/login")
    response, _ = await browser.post("/login", {"username": "alice", "password": "x",
                                                "csrf_token": "forged"})
    assert response.status == 403
    await browser.login()
    url = authorize_url(passerelle)
    action, fields = await browser.consent_form(url)
    forged = [(k, "forged" if k == "csrf_token" else v) for k, v in fields]
    response, _ = await browser.post(action, [*forged, ("decision", "approve")])
    assert response.status == 403
    assert "Location" not in response.headers
    # Right token, but posted from another site.
    response, _ = await browser.post(action, [*fields, ("decision", "approve")],
                                     headers={"Origin": "https://evil.example"})
    assert response.status == 403


async def test_logout_ends_the_session(passerelle: Running, browser: Browser) -> None:
    await browser.login()
    signed_in = session_cookie(browser)
    _r, html = await browser.get(authorize_url(passerelle))
    token = CSRF_RE.search(html)
    assert token is not None
    response, _ = await browser.post("/logout", {"csrf_token": token.group(1)})
    assert response.status == 303
    # Replaying the old cookie no longer signs anyone in.
    stale = Browser(passerelle.url)
    stale.session.cookie_jar.update_cookies({"passerelle": signed_in})
    response, _ = await stale.get(authorize_url(passerelle))
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=")
    await stale.close()


async def test_pages_speak_french_and_english(passerelle: Running, browser: Browser) -> None:
    _r, html = await browser.get("/login")
    assert "Connexion" in html
    _r, html = await browser.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Sign in" in html
    _r, html = await browser.get("/login?lang=en")
    assert 'lang="en"' in html
    _r, html = await browser.get("/login")  # remembered
    assert "Sign in" in html
    assert check_catalogue() == []
    assert from_accept_language("de-DE, en;q=0.5, fr;q=0.8") == "fr"
    assert from_accept_language("") == "fr"


def test_next_is_a_local_path_only() -> None:
    assert safe_next("/oauth2/authorize?x=1") == "/oauth2/authorize?x=1"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil.example", "", None,
                "javascript:alert(1)", "/\x00", "/\x7f", "/caf\u00e9", "/a b"):
        assert safe_next(bad) == "/"


async def test_every_form_has_a_csrf_token(passerelle: Running, browser: Browser) -> None:
    await browser.login()
    for page in ("/login", authorize_url(passerelle)):
        _r, html = await browser.get(page)
        forms = forms_of(html)
        assert forms
        assert all(any(k == "csrf_token" and v for k, v in f["fields"]) for f in forms)


@pytest.fixture
async def https_instance(sqlite_factory: SqliteFactory, clock: FrozenClock,
                         data_dir: Path) -> AsyncIterator[str]:
    url = sqlite_factory.create()
    port = unused_port()
    settings = Settings(data_dir=data_dir, database_url=url, port=port,
                        public_url="https://passerelle.example")
    server = TestServer(create_app(settings, clock=clock), host="127.0.0.1", port=port)
    await server.start_server()
    yield f"http://127.0.0.1:{port}"
    await server.close()


async def test_https_instances_use_host_cookies_and_hsts(https_instance: str) -> None:
    browser = Browser(https_instance)
    response, _ = await browser.get("/login")
    cookie = response.cookies["__Host-passerelle"]
    assert cookie["secure"]
    assert cookie["path"] == "/"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    await browser.close()


def test_every_message_a_template_or_handler_names_exists() -> None:
    import re

    from consent.purposes import DataRole, LegalBasis, Purpose
    from proxy.web.i18n import MESSAGES

    root = Path(__file__).resolve().parents[2] / "proxy"
    sources = [p.read_text() for p in (root / "web" / "templates").glob("*.html")]
    sources += [p.read_text() for p in root.rglob("*.py")]
    keys = {k for text in sources
            for k in re.findall(r'["\']((?:login|logout|consent|error|register|site)'
                                r'\.[a-z_]+)["\']', text)}
    keys |= {f"role.{r.value}" for r in DataRole} | {f"basis.{b.value}" for b in LegalBasis}
    keys |= {f"purpose.{p.value}" for p in Purpose}
    keys = {k for k in keys if not k.endswith(".html")}  # template names, not messages
    assert sorted(keys - set(MESSAGES)) == []
    assert {"consent.not_household", "consent.not_possible", "error.csrf"} <= keys

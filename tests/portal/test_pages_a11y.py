"""Every portal page in both languages: complete catalogue, labelled fields, landmarks, one
``h1``, charts with text alternatives (WCAG 2.1 AA: 1.1.1, 1.3.1, 2.4.1, 3.1.1, 3.3.2)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from proxy.web.i18n import MESSAGES, check_catalogue
from tests.oauth.conftest import Browser
from tests.portal.helpers import text_of
from tests.portal.world import Portal

UUID = "0ff5bcbc-6102-4c95-a917-5b262f40118c"
PAGES = ["/account", "/account/consents/new", "/account/history", "/account/data",
         "/account/data?view=year", "/account/mandates", "/account/mandates/new",
         "/account/port", "/account/claim", "/account/security", "/account/evidence"]


class Structure(HTMLParser):
    """Inputs, labels, headings and landmarks of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []  # (tag, id)
        self.label_for: set[str] = set()
        self.in_label = 0
        self.wrapped = 0
        self.h1 = 0
        self.tags: set[str] = set()
        self.lang: str | None = None
        self.svgs_without_title = 0
        self._svg_title = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        if tag == "h1":
            self.h1 += 1
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            if self.in_label:
                self.wrapped += 1
            else:
                self.fields.append((tag, str(a.get("id"))))
        if tag == "svg":
            self._svg_title = False
        if tag == "title":
            self._svg_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1
        if tag == "svg" and not self._svg_title:
            self.svgs_without_title += 1


def test_every_message_is_in_both_languages() -> None:
    assert check_catalogue() == []


def test_every_message_key_the_portal_names_exists() -> None:
    root = Path(__file__).resolve().parents[2] / "proxy"
    sources = [p.read_text() for p in (root / "web" / "templates").rglob("*.html")]
    sources += [p.read_text() for p in (root / "portal").rglob("*.py")]
    keys = {k for text in sources for k in re.findall(r'["\'](portal\.[a-z_.0-9]+)["\']', text)}
    keys = {k for k in keys if not k.endswith(".html") and not k.endswith(".")}
    missing = sorted(k for k in keys if k not in MESSAGES)
    assert missing == []


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_pages_are_labelled_and_landmarked(portal: Portal, alice: Browser,
                                                 lang: str) -> None:
    for page in PAGES:
        glue = "&" if "?" in page else "?"
        response, html = await alice.get(f"{page}{glue}lang={lang}")
        assert response.status == 200, page
        found = Structure()
        found.feed(html)
        assert found.lang == lang, page
        assert found.h1 == 1, page
        assert {"header", "nav", "main", "footer"} <= found.tags, page
        unlabelled = [f for f in found.fields if f[1] not in found.label_for]
        assert unlabelled == [], (page, unlabelled)
        assert found.svgs_without_title == 0, page
        assert 'href="#main"' in html  # skip link (2.4.1)
        nav = html.split('<nav class="account"', 1)[1].split("</nav>", 1)[0]
        assert nav.count('aria-current="page"') == 1, page  # where am I (2.4.8)


async def test_the_language_switch_keeps_the_page_and_remembers_the_choice(
        portal: Portal, alice: Browser) -> None:
    _, html = await alice.get("/account/history?days=90")
    assert 'href="/account/history?days=90&amp;lang=en"' in html
    assert 'hreflang="en"' in html
    response, html = await alice.get("/account/history?days=90&lang=en")
    assert response.cookies["lang"].value == "en"
    _, html = await alice.get("/account")
    assert '<html lang="en">' in html
    assert "Who reads my meter data" in html


async def test_english_pages_put_no_space_before_a_colon(portal: Portal,
                                                         alice: Browser) -> None:
    """The terms read "Legal basis : consent" and "GDPR role : controller" in English: the
    templates wrote French typography (a space before the colon) for both languages. The
    separator now comes from the catalogue (``site.colon``)."""
    for page in PAGES:
        glue = "&" if "?" in page else "?"
        _, html = await alice.get(f"{page}{glue}lang=en")
        text = text_of(html).replace("\u00a0", " ")
        assert " : " not in text, (page, text[max(0, text.find(" : ") - 80):][:160])
    _, html = await alice.get("/account?lang=fr")
    assert "Base légale\u00a0: consentement" in html


async def test_the_language_switch_of_a_refused_form_leads_to_a_page(
        portal: Portal, alice: Browser) -> None:
    """A form refused by its CSRF check (403 page) put the switch on the POST address
    (``/account/consents/{id}/withdraw?lang=en``), which answers 405 to the link's GET. It now
    names the form's page, or the nearest page above that answers GET."""
    row = portal.ids["alice_coach"]
    for action, page in ((f"/account/consents/{row}/withdraw", f"/account/consents/{row}"),
                         (f"/account/recipients/{UUID}/withdraw", "/account"),
                         ("/login", "/login")):
        response, html = await alice.post(action, {"csrf_token": "forged"},
                                          headers={"Origin": alice.base})
        assert response.status == 403, action
        switch = re.search(r'<a href="([^"]+)" hreflang', html)
        assert switch is not None
        target = switch.group(1).replace("&amp;", "&")
        assert target.startswith(page + "?"), (action, target)
        again, _ = await alice.get(target)
        assert again.status == 200, (target, again.status)

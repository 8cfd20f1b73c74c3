"""R20/R21/R24: the household page links to the register of the parties that may access its
data, its own tenant's. ``/register`` lists the default tenant's recipients unless
``?tenant=`` names another (proxy/oauth/registry.py), so a bare link sent a household of another
tenant to a register listing another tenant's recipients, and not the app holding its consent.
"""

from __future__ import annotations

import re

import aiohttp

from tests.oauth.conftest import forms_of
from tests.rules.app_world import RulesWorld

_REGISTER_LINK = re.compile(r'href="(/register[^"]*)"')


async def test_household_of_another_tenant_is_linked_to_its_own_register(
        app_world: RulesWorld) -> None:
    w = app_world
    base = str(w.client.make_url(""))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(base + "/login?tenant=other") as r:
            login_page = await r.text()
            fields = dict(forms_of(login_page)[-1]["fields"])
        async with browser.post(base + "/login", data={**fields, "username": "bea",
                                                       "password": "pw-bea",
                                                       "next": "/account"}) as r:
            page = await r.text()
        assert "elsewhere" in page  # bea's own consent is on her page
        links = _REGISTER_LINK.findall(page)
        assert len(links) == 2  # the page's own link and the footer's
        assert set(links) | set(_REGISTER_LINK.findall(login_page)) == {
            "/register?tenant=other"}
        async with browser.get(base + links[0].replace("&amp;", "&")) as r:
            register = await r.text()
        # The register's own links (JSON, footer, language switch) stay on its tenant.
        on_register = _REGISTER_LINK.findall(register)
        assert {"/register.json?tenant=other", "/register?tenant=other"} <= set(on_register)
        assert all("tenant=other" in link for link in on_register), on_register
    assert "elsewhere" in register, f"{links[0]} does not list bea's recipient"
    assert "pmo.example" not in register, f"{links[0]} lists tenant default's recipients"


async def test_the_default_tenants_household_keeps_the_plain_link(
        app_world: RulesWorld) -> None:
    w = app_world
    base = str(w.client.make_url(""))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(base + "/login") as r:
            fields = dict(forms_of(await r.text())[-1]["fields"])
        async with browser.post(base + "/login", data={**fields, "username": "h0",
                                                       "password": "pw-h0",
                                                       "next": "/account"}) as r:
            page = await r.text()
    assert set(_REGISTER_LINK.findall(page)) == {"/register"}

"""The login throttle counts an attempt before its password is checked (proxy/web/ratelimit.py).

Found by review: ``login_submit`` asked ``retry_after`` first, ran argon2 in a thread (tens of
ms), and only recorded the failure afterwards, so concurrent attempts all passed the check
before any was counted; one burst tried far more than ACCOUNT_LIMIT (5) passwords, and the right
one among them signed in. Also here: the account counter is the tenant's username (a name locked
on one tenant is not locked on another), and an IPv6 client is counted per /64.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from consent.models import AccountRole, PartyKind, Tenant
from consent.services.registry import add_account, add_party
from proxy.web.ratelimit import ACCOUNT_LIMIT, account_key, address_key
from tests.oauth.conftest import PASSWORD, Browser, Running, forms_of


async def test_concurrent_guesses_get_no_more_checks_than_the_account_limit(
        passerelle_any: Running) -> None:
    browser = Browser(passerelle_any.url)
    try:
        _r, html = await browser.get("/login")
        token = dict(forms_of(html)[-1]["fields"])["csrf_token"]
        guesses = [f"wrong-{i}" for i in range(15)] + [PASSWORD]

        async def attempt(password: str) -> int:
            response, _ = await browser.post("/login", {
                "csrf_token": token, "username": "alice", "password": password, "next": "/"})
            return response.status

        statuses = await asyncio.gather(*(attempt(p) for p in guesses))
    finally:
        await browser.close()
    tried = sum(1 for s in statuses if s != 429)
    # Without reservation all 16 were checked, and the 16th (right) one signed in although 15
    # failures preceded it. Now ACCOUNT_LIMIT are, plus one if the right one was among them
    # (a success gives its own place back, never the failures' places).
    assert tried <= ACCOUNT_LIMIT + 1, f"{tried} passwords were checked: {Counter(statuses)}"


async def test_a_success_does_not_wipe_the_failures_before_it(passerelle: Running,
                                                              browser: Browser) -> None:
    for _ in range(ACCOUNT_LIMIT - 1):
        assert (await browser.login(password="wrong")).status == 200
    assert (await browser.login()).status == 303
    assert (await browser.login(password="wrong")).status == 200  # the fifth failure
    assert (await browser.login()).status == 429
    passerelle.clock.advance(timedelta(minutes=15, seconds=1))
    assert (await browser.login()).status == 303


async def test_a_username_locked_on_one_tenant_is_not_locked_on_another(
        passerelle: Running, browser: Browser) -> None:
    now = passerelle.clock.now()
    async with passerelle.db.session() as session:
        session.add(Tenant(id="coop-b", name="Coop B", created_at=now))
        await session.flush()
        party = await add_party(session, tenant_id="coop-b", kind=PartyKind.HOUSEHOLD,
                                name="Another Alice", now=now)
        await add_account(session, tenant_id="coop-b", username="alice", password="b-" + PASSWORD,
                          party_id=party.id, roles=[AccountRole.HOUSEHOLD], now=now)
    for _ in range(ACCOUNT_LIMIT):
        assert (await browser.login(password="wrong")).status == 200
    assert (await browser.login()).status == 429  # default tenant's alice: locked

    _r, html = await browser.get("/login?tenant=coop-b")
    token = dict(forms_of(html)[-1]["fields"])["csrf_token"]
    response, _ = await browser.post("/login", {
        "csrf_token": token, "username": "alice", "password": "b-" + PASSWORD,
        "tenant": "coop-b", "next": "/"})
    assert response.status == 303


async def test_a_success_gives_the_address_its_place_back(passerelle: Running,
                                                          browser: Browser) -> None:
    for _ in range(25):  # more than ADDRESS_LIMIT successes from one address
        assert (await browser.login()).status == 303
    passerelle.clock.advance(timedelta(seconds=1))
    assert (await browser.login()).status == 303


def test_keys_are_per_tenant_and_ipv6_per_64() -> None:
    assert account_key("default", " Alice ") == account_key("default", "alice")
    assert account_key("default", "alice") != account_key("coop-b", "alice")
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff:1:2:3")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("198.51.100.7") != address_key("198.51.100.8")
    assert address_key("::ffff:198.51.100.7") == address_key("198.51.100.7")
    assert address_key(None) == "unknown"

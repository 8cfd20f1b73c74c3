"""A running Passerelle on 127.0.0.1 with one household, two points and one recipient.

``passerelle`` starts the real application (aiohttp test server on a free loopback port, the
issuer set to that address) over a fresh migrated SQLite database, or PostgreSQL for tests
that ask for ``backend_db``. Argon2 is made cheap for the test session only (the production
parameters are argon2-cffi's defaults, see consent/accounts.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port
from argon2 import PasswordHasher, Type

from consent import accounts
from consent.clock import FrozenClock
from consent.identifiers import PointRef
from consent.models import DEFAULT_TENANT, AccountRole, PartyKind
from consent.services.registry import (
    RecipientDraft,
    add_account,
    add_occupancy,
    add_party,
    add_point,
    register_recipient,
)
from consent.storage import Database
from consent.vocabulary import Direction, Energy
from proxy.app import create_app
from proxy.settings import Settings
from tests.support.databases import SqliteFactory

REDIRECT_URI = "https://app.example/callback"
PASSWORD = "correct horse battery staple"
PRM = PointRef.parse("enedis:22516914714270")
PRM2 = PointRef.parse("enedis:22516914714271")
STRANGER_PRM = PointRef.parse("enedis:30001234567890")


@pytest.fixture(autouse=True, scope="session")
def cheap_argon2() -> Iterator[None]:
    """Tests only: argon2id with minimal cost (production keeps the library defaults)."""
    accounts.configure(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID))
    yield
    accounts.configure(PasswordHasher(type=Type.ID))


@dataclass
class World:
    """What the seeded instance holds."""

    client_id: str
    client_secret: str
    other_client_id: str
    other_client_secret: str
    username: str = "alice"
    password: str = PASSWORD


async def seed(db: Database, clock: FrozenClock) -> World:
    """One household (alice) on two electricity points, a stranger's point, two recipients."""
    now = clock.now()
    async with db.session() as session:
        household = await add_party(session, tenant_id=DEFAULT_TENANT,
                                    kind=PartyKind.HOUSEHOLD, name="Alice", now=now)
        await add_account(session, tenant_id=DEFAULT_TENANT, username="alice",
                          password=PASSWORD, party_id=household.id,
                          roles=[AccountRole.HOUSEHOLD], now=now)
        stranger = await add_party(session, tenant_id=DEFAULT_TENANT,
                                   kind=PartyKind.HOUSEHOLD, name="Bob", now=now)
        for ref, party in ((PRM, household), (PRM2, household), (STRANGER_PRM, stranger)):
            point = await add_point(session, tenant_id=DEFAULT_TENANT, ref=ref,
                                    energy=Energy.ELECTRICITY,
                                    directions=[Direction.CONSUMPTION, Direction.PRODUCTION],
                                    now=now)
            await add_occupancy(session, tenant_id=DEFAULT_TENANT, point_id=point.id,
                                household_id=party.id, starts_at=now - timedelta(days=800),
                                ends_at=None, now=now)
        recipient, secret = await register_recipient(session, RecipientDraft(
            name="Watt Coach", website="https://app.example", contact_email="dpo@app.example",
            purposes=["energy_monitoring"], legal_basis="consent", data_role="controller",
            allowed_datasets=["daily_consumption", "consumption_load_curve", "contract"],
            redirect_uris=[REDIRECT_URI, "http://127.0.0.1:8765/cb"]),
            tenant_id=DEFAULT_TENANT, now=now)
        other, other_secret = await register_recipient(session, RecipientDraft(
            name="Other App", website="https://other.example",
            contact_email="dpo@other.example", purposes=["energy_advice"],
            legal_basis="legitimate_interests", data_role="processor",
            allowed_datasets=["daily_consumption"],
            redirect_uris=["https://other.example/cb"]), tenant_id=DEFAULT_TENANT, now=now)
    return World(recipient.client_id, secret, other.client_id, other_secret)


@dataclass
class Running:
    """A started server and what it was seeded with."""

    url: str
    app: web.Application
    db: Database
    clock: FrozenClock
    world: World
    data_dir: Path


async def start(database_url: str, clock: FrozenClock, data_dir: Path,
                **settings_overrides: Any) -> AsyncIterator[Running]:
    """Seed, start on a free loopback port, stop."""
    db = Database.from_url(database_url)
    world = await seed(db, clock)
    await db.dispose()
    port = unused_port()
    settings = Settings(data_dir=data_dir, database_url=database_url, host="127.0.0.1",
                        port=port, **settings_overrides)
    app = create_app(settings, clock=clock)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        from proxy.keys import database_key

        yield Running(settings.issuer, app, app[database_key], clock, world, data_dir)
    finally:
        await server.close()


@pytest.fixture
async def passerelle(sqlite_factory: SqliteFactory, clock: FrozenClock,
                     data_dir: Path) -> AsyncIterator[Running]:
    """A running instance on SQLite."""
    url = sqlite_factory.create()
    async for running in start(url, clock, data_dir):
        yield running
    sqlite_factory.drop(url)


@pytest.fixture
async def passerelle_any(database_url: str, clock: FrozenClock,
                         data_dir: Path) -> AsyncIterator[Running]:
    """A running instance on each backend (SQLite and PostgreSQL)."""
    async for running in start(database_url, clock, data_dir):
        yield running


# -- a browser ---------------------------------------------------------------------------


class FormParser(HTMLParser):
    """The forms of a page: action, hidden values, checked boxes, selects, buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": [], "buttons": []})
        elif not self.forms:
            return
        form = self.forms[-1]
        if tag == "input" and a.get("type") in {"hidden", "checkbox", "number", "text"}:
            if a.get("type") != "checkbox" or "checked" in a:
                form["fields"].append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            form["fields"].append((self._select, a.get("value", "")))
        elif tag == "button" and a.get("name"):
            form["buttons"].append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms_of(html: str) -> list[dict[str, Any]]:
    """Parse the forms of ``html``."""
    parser = FormParser()
    parser.feed(html)
    return parser.forms


class Browser:
    """A cookie-keeping HTTP client that never follows redirects by itself."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.session.close()

    def _url(self, url: str) -> str:
        return url if url.startswith("http") else self.base + url

    async def get(self, url: str, **kwargs: Any) -> tuple[aiohttp.ClientResponse, str]:
        async with self.session.get(self._url(url), allow_redirects=False, **kwargs) as r:
            return r, await r.text()

    async def post(self, url: str, data: Any, **kwargs: Any) -> tuple[aiohttp.ClientResponse, str]:
        async with self.session.post(self._url(url), data=data, allow_redirects=False,
                                     **kwargs) as r:
            return r, await r.text()

    async def login(self, username: str = "alice", password: str = PASSWORD,
                    next_path: str = "/") -> aiohttp.ClientResponse:
        _r, html = await self.get("/login?next=" + next_path)
        token = dict(forms_of(html)[-1]["fields"])["csrf_token"]
        response, _ = await self.post("/login", {"csrf_token": token, "username": username,
                                                 "password": password, "next": next_path})
        return response

    async def consent_form(self, authorize_url: str) -> tuple[str, list[tuple[str, str]]]:
        """Open the consent page (signing in first if asked); its action and fields."""
        response, html = await self.get(authorize_url)
        if response.status == 303 and response.headers["Location"].startswith("/login"):
            next_path = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
            login = await self.login(next_path=next_path)
            assert login.status == 303, await login.text()
            response, html = await self.get(login.headers["Location"])
        assert response.status == 200, html
        form = next(f for f in forms_of(html) if ("decision", "approve") in f["buttons"])
        return form["action"], form["fields"]

    async def decide(self, authorize_url: str, decision: str = "approve",
                     change: Any = None) -> aiohttp.ClientResponse:
        """Open the consent page and press a button; ``change`` edits the fields first."""
        action, fields = await self.consent_form(authorize_url)
        if change is not None:
            fields = change(fields)
        response, _ = await self.post(action.replace("&amp;", "&"),
                                      [*fields, ("decision", decision)])
        return response


@pytest.fixture
async def browser(passerelle: Running) -> AsyncIterator[Browser]:
    """A browser pointed at ``passerelle``."""
    b = Browser(passerelle.url)
    yield b
    await b.close()


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect (single values)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

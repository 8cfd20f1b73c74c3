"""A mandate to a person named by username (proxy/portal/mandataries.py): no oracle on
usernames, no name disclosed, staff and organisations' people not eligible, lookups throttled.

Found by review: an unknown username got "No person with this username." while a known one got
a mandate, and the confirmation then showed the person's full name ("Mandate prepared for Rita
Review"), staff accounts included.
"""

from __future__ import annotations

from sqlmodel import select

from consent.models import Mandate
from proxy.portal.mandataries import PERSON_LOOKUPS
from tests.oauth.conftest import Browser
from tests.portal.helpers import field_error, post, text_of
from tests.portal.world import ALICE_PRM, Portal


def _person(username: str, *, path: str = "paper", until: str = "2027-06-30",
            extra: tuple[tuple[str, str], ...] = ()) -> list[tuple[str, str]]:
    return [("mandatary", "person"), ("username", username), ("scope", "read_data"),
            ("points", str(ALICE_PRM)), ("datasets", "daily_consumption"), ("until", until),
            ("path", path), *extra]


async def _mandates(portal: Portal) -> list[Mandate]:
    async with portal.db.session() as session:
        return list((await session.exec(select(Mandate))).all())


async def _answer(alice: Browser, username: str) -> tuple[int, str, str]:
    response, _ = await post(alice, "/account/mandates/new?lang=en", _person(username),
                             page="/account/mandates/new")
    location = response.headers.get("Location", "")
    _, html = await alice.get("/account/mandates?lang=en")
    return response.status, location, text_of(html)


async def test_known_unknown_and_staff_usernames_get_the_same_answer(portal: Portal,
                                                                    alice: Browser) -> None:
    answers = {name: await _answer(alice, name) for name in ("nobody-here", "reviewer", "bob")}

    assert {(status, location) for status, location, _ in answers.values()} == {
        (303, "/account/mandates")}
    for name, (_s, _l, text) in answers.items():
        assert f"If “{name}” is the username of a person who may hold a mandate" in text
    # Only Bob, a household, was eligible; the staff reviewer never is.
    [made] = await _mandates(portal)
    assert made.mandatary_id == portal.ids["bob"]
    page = answers["bob"][2]
    assert "Bob Durand" not in page
    assert "Rita Review" not in page
    _, html = await alice.get(f"/account/mandates/{made.id}?lang=en")
    assert "Mandate for bob" in text_of(html)
    assert "Bob Durand" not in text_of(html)


async def test_other_errors_are_the_same_whether_the_username_exists_or_not(
        portal: Portal, alice: Browser) -> None:
    pages = []
    for name in ("nobody-here", "bob"):
        response, html = await post(alice, "/account/mandates/new?lang=en", _person(
            name, path="online", extra=(("standing", "yes"),)), page="/account/mandates/new")
        assert response.status == 400
        assert field_error(html, "username") is None
        assert field_error(html, "until") == (
            "Only social services may hold a mandate without an end date (R11).")
        pages.append(text_of(html).replace(name, "NAME"))
    assert pages[0] == pages[1]
    assert await _mandates(portal) == []


async def test_person_lookups_are_throttled(portal: Portal, alice: Browser) -> None:
    for i in range(PERSON_LOOKUPS):
        status, _location, _text = await _answer(alice, f"guess-{i}")
        assert status == 303
    response, html = await post(alice, "/account/mandates/new?lang=en", _person("bob"),
                                page="/account/mandates/new")
    assert response.status == 429
    assert "Too many mandates asked for people" in text_of(html)
    assert await _mandates(portal) == []

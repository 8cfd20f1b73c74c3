"""The consent page's meters: the form as first shown can be approved as is, and a choice the
rules refuse says which rule (R14: at most two meters online), not "choose something"."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import select

from consent.identifiers import PointRef
from consent.models import DEFAULT_TENANT, Account
from consent.services.registry import add_occupancy, add_point
from consent.vocabulary import Direction, Energy
from tests.oauth.conftest import PRM, PRM2, REDIRECT_URI, Browser, Running
from tests.oauth.helpers import authorize_url

PRM3 = PointRef.parse("enedis:22516914714272")


async def _third_meter(passerelle: Running) -> None:
    now = passerelle.clock.now()
    async with passerelle.db.session() as session:
        alice = (await session.exec(select(Account).where(Account.username == "alice"))).one()
        point = await add_point(session, tenant_id=DEFAULT_TENANT, ref=PRM3,
                                energy=Energy.ELECTRICITY, directions=[Direction.CONSUMPTION],
                                now=now)
        await add_occupancy(session, tenant_id=DEFAULT_TENANT, point_id=point.id,
                            household_id=alice.party_id, starts_at=now - timedelta(days=10),
                            ends_at=None, now=now)


async def test_a_household_with_three_meters_approves_the_form_as_shown(
        passerelle: Running, browser: Browser) -> None:
    """With three meters, all three were ticked by default, ``narrow`` refused more than two
    (R14) and the page said "Choose at least one meter and one dataset.". Now two are ticked
    (the third is offered unticked), and ticking all three gets the R14 message."""
    await _third_meter(passerelle)
    url = authorize_url(passerelle) + "&lang=en"
    action, fields = await browser.consent_form(url)
    action = action.replace("&amp;", "&")
    ticked = [v for k, v in fields if k == "point"]
    assert ticked == [str(PRM), str(PRM2)]
    _, html = await browser.get(url)
    assert f'value="{PRM3}">' in html  # offered, not ticked
    response, html = await browser.post(action, [*fields, ("point", str(PRM3)),
                                                 ("decision", "approve")])
    assert response.status == 400
    assert "Tick at most two meters: beyond two, consent goes through a signed form" in html
    assert "Choose at least one meter and one dataset." not in html
    response, _ = await browser.post(action, [*fields, ("decision", "approve")])
    assert response.status == 303
    assert response.headers["Location"].startswith(REDIRECT_URI)
    assert "code=" in urlsplit(response.headers["Location"]).query


async def test_a_third_meter_for_the_same_app_says_it_already_has_two(
        passerelle: Running, browser: Browser) -> None:
    """R14 counts what the app already holds: two meters granted, then a second request for the
    third one alone is refused online, and the page says why (not "at most two" of one)."""
    await _third_meter(passerelle)
    url = authorize_url(passerelle) + "&lang=en"
    action, fields = await browser.consent_form(url)
    response, _ = await browser.post(action.replace("&amp;", "&"),
                                     [*fields, ("decision", "approve")])
    assert response.status == 303
    action, fields = await browser.consent_form(authorize_url(passerelle) + "&lang=en")
    only_third = [(k, v) for k, v in fields if k != "point"] + [("point", str(PRM3))]
    response, html = await browser.post(action.replace("&amp;", "&"),
                                        [*only_third, ("decision", "approve")])
    assert response.status == 400
    assert "This application already has access to other meters of this household" in html


async def test_the_form_as_shown_counts_the_meters_the_app_already_holds(
        passerelle: Running, browser: Browser) -> None:
    """The page pre-ticked its first two meters whatever the app already held, so a household
    whose app held one meter (PRM3) was shown two others ticked and refused on approving the
    form as shown (R14: three in all). It now ticks the held meter, and one more."""
    await _third_meter(passerelle)
    url = authorize_url(passerelle) + "&lang=en"
    action, fields = await browser.consent_form(url)
    only_third = [(k, v) for k, v in fields if k != "point"] + [("point", str(PRM3))]
    response, _ = await browser.post(action.replace("&amp;", "&"),
                                     [*only_third, ("decision", "approve")])
    assert response.status == 303

    url = authorize_url(passerelle) + "&lang=en"  # a new request (the first one is answered)
    action, fields = await browser.consent_form(url)
    assert [v for k, v in fields if k == "point"] == [str(PRM), str(PRM3)]
    _, html = await browser.get(url)
    assert "This app can already read 1 of the meters of this household" in html
    assert f'{PRM3} <em class="held">(already shared with this app)</em>' in html
    assert f'value="{PRM2}">' in html  # offered, not ticked
    response, _ = await browser.post(action.replace("&amp;", "&"),
                                     [*fields, ("decision", "approve")])
    assert response.status == 303
    assert "code=" in urlsplit(response.headers["Location"]).query


async def test_the_meters_held_are_counted_as_the_households_not_as_those_shown(
        passerelle: Running, browser: Browser) -> None:
    """The count is of every meter of the household the app holds (R14 counts them all),
    but the page called them "these meters" under a list that need not hold them: an app
    holding PRM3 that asks for PRM alone was said to read 1 of the meters shown (PRM), which
    it cannot. The consent text must not tell the household something false."""
    await _third_meter(passerelle)
    action, fields = await browser.consent_form(authorize_url(passerelle) + "&lang=en")
    only_third = [(k, v) for k, v in fields if k != "point"] + [("point", str(PRM3))]
    response, _ = await browser.post(action.replace("&amp;", "&"),
                                     [*only_third, ("decision", "approve")])
    assert response.status == 303

    details = json.dumps([{"type": "meter_data", "datasets": ["daily_consumption"],
                           "points": [str(PRM)]}])
    _, html = await browser.get(authorize_url(passerelle, scope=None,
                                              authorization_details=details) + "&lang=en")
    assert f'value="{PRM}"' in html  # PRM alone is shown
    assert f'value="{PRM3}"' not in html
    assert "of these meters" not in html
    assert "This app can already read 1 of the meters of this household" in html

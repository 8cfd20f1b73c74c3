"""Access history (R16, R20), the reasons in a consent's history, and the household's own data
read through Passerelle (R8, R20)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from consent.access_events import ACCESS_EVENT_TABLE
from consent.lifecycle import ActorRole
from consent.services import Actor
from proxy.keys import consent_service_key
from tests.oauth.conftest import Browser
from tests.portal.helpers import consent, text_of
from tests.portal.world import ALICE_PCE, BOB_PRM, PASSWORD, Portal


async def _events(portal: Portal) -> list[dict[str, object]]:
    async with portal.db.engine.connect() as conn:
        rows = await conn.execute(sa.select(ACCESS_EVENT_TABLE).order_by(ACCESS_EVENT_TABLE.c.at))
        return [dict(r._mapping) for r in rows]


async def test_history_lists_reads_and_refusals_with_a_timeline(portal: Portal,
                                                               alice: Browser) -> None:
    coach = await portal.token("coach")
    assert await portal.read(coach) == 200
    assert await portal.read(coach, dataset="daily_max_power") == 403  # not consented
    assert await portal.read(coach, ref=BOB_PRM) == 200  # Bob's: not in Alice's history
    portal.clock.advance(timedelta(hours=3))  # within the 12-hour session
    assert await portal.read(await portal.token("soleil"), dataset="daily_production") == 200
    response, html = await alice.get("/account/history?lang=en")
    assert response.status == 200
    rows = re.findall(r"<tr>\s*<td><time", html)
    assert len(rows) == 3
    text = text_of(html)
    assert "Watt Coach" in text
    assert "Soleil" in text
    assert "Daily maximum power" in text
    assert "rule: R6 dataset" in text
    assert "Over the last 30 days: 2 reads served, 1 refused." in text
    assert html.count('class="bar "') >= 2
    assert html.count('class="bar denied"') >= 1
    assert "<title" in html
    assert "<desc" in html
    _, filtered = await alice.get(f"/account/history?recipient={portal.ids['soleil']}")
    assert len(re.findall(r"<tr>\s*<td><time", filtered)) == 1
    _, by_dataset = await alice.get("/account/history?dataset=daily_max_power")
    assert len(re.findall(r"<tr>\s*<td><time", by_dataset)) == 1


async def test_history_filters_are_validated(portal: Portal, alice: Browser) -> None:
    response, html = await alice.get("/account/history?days=12&dataset=nope&lang=en")
    assert response.status == 200
    assert html.count("Choose a value from the list.") == 2


@pytest.mark.parametrize("view", ["day", "week", "month", "year"])
async def test_own_consumption_charts_read_through_passerelle(portal: Portal, alice: Browser,
                                                             view: str) -> None:
    response, html = await alice.get(f"/account/data?view={view}&lang=en")
    assert response.status == 200, html[:400]
    assert 'role="img"' in html
    assert "<figcaption" in html
    assert "<table>" in html
    bars = re.findall(r'<rect class="bar[^"]*" x="[^"]+" y="[^"]+" width="[^"]+" '
                      r'height="([^"]+)"', html)
    assert bars
    assert any(float(h) > 1 for h in bars)
    assert "kWh" in text_of(html)
    if view == "year":
        assert "<polyline" in html
        assert "Running total over 36 months" in text_of(html)
    [event] = [e for e in await _events(portal) if e["api"] == "portal"]
    assert (event["outcome"], event["recipient_id"]) == ("served", None)
    assert event["point"] == "enedis:22516914714270"
    assert event["values"] > 300
    # R8: nothing before Alice moved in (2024-03-01, Paris), whatever the view.
    assert event["window_start"].date().isoformat() >= "2024-02-29"


async def test_production_and_gas_points(portal: Portal, alice: Browser) -> None:
    _, html = await alice.get("/account/data?dataset=daily_production&view=month&lang=en")
    assert "Production — last 24 months" in text_of(html)
    gas = portal.ids[str(ALICE_PCE)]
    response, html = await alice.get(f"/account/data?point={gas}&dataset=daily_production")
    assert response.status == 200
    assert 'name="dataset"' not in html  # a gas point has no production to choose


async def test_own_reads_stay_out_of_the_access_history(portal: Portal,
                                                       alice: Browser) -> None:
    await alice.get("/account/data")
    _, html = await alice.get("/account/history?lang=en")
    assert "No read in this period." in text_of(html)


async def test_the_data_page_is_not_held_to_an_apps_call_bound(portal: Portal,
                                                               alice: Browser) -> None:
    """The household's own page reads its whole history: with a DSO serving 92 days per
    call, that is more DSO calls than an app's request may take, and the page still shows."""
    from dataclasses import replace

    from consent.identifiers import Source
    from consent.vocabulary import Dataset
    from proxy.keys import household_reader_key

    upstream = portal.app[household_reader_key].upstreams[Source.ENEDIS]
    upstream.capabilities = replace(upstream.capabilities, datasets=tuple(
        replace(d, max_window=timedelta(days=92)) if d.dataset is Dataset.DAILY_CONSUMPTION
        else d for d in upstream.capabilities.datasets))
    response, html = await alice.get("/account/data?view=month&lang=en")
    assert response.status == 200, html[:300]
    assert "invalid-period" not in html


async def test_reasons_in_a_consents_history_are_in_the_pages_language(
        portal: Portal, alice: Browser) -> None:
    """The history showed the recorded reason as is: "access period over" on a French page
    after the expiry sweep. Passerelle's own reasons are now translated; a person's free text
    is shown verbatim, marked as such (a quotation of unknown language)."""
    expired, revoked = await consent(portal, "alice_coach"), await consent(portal, "alice_soleil")
    await portal.app[consent_service_key].revoke(
        Actor(ActorRole.OPERATOR, party_id=portal.ids["bob"]), revoked.id,
        reason="fraude signalée par le GRD")
    portal.clock.advance(timedelta(days=366))
    await portal.app[consent_service_key].expire_due()
    assert (await alice.login("alice", PASSWORD)).status == 303  # the old session is over
    _, html = await alice.get(f"/account/consents/{expired.id}?lang=fr")
    text = text_of(html)
    assert "la période d'accès est terminée" in text
    assert "access period over" not in text
    _, html = await alice.get(f"/account/consents/{expired.id}?lang=en")
    assert "the access period is over" in text_of(html)
    _, html = await alice.get(f"/account/consents/{revoked.id}?lang=en")
    assert 'Reason, as written: <q lang="">fraude signalée par le GRD</q>' in html

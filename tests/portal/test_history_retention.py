"""The household's pages after the retention sweep (R17, R20): reads past 31 days are no longer
listed one by one but counted per week (then month), the page says so, the consent's read count
keeps them, and a count of attempts without consent is the household's only when its whole
period lies within the household's occupancy (R8)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from consent.access_counts import ACCESS_COUNT_TABLE, count_id
from consent.dashboard import HistoryFilter, access_history
from consent.retention_calendar import Bucket
from proxy.evidence.setup import sweep_retention
from proxy.keys import evidence_key, metrics_key
from tests.oauth.conftest import Browser
from tests.portal.helpers import text_of
from tests.portal.world import ALICE_PRM, BOB_PRM, PASSWORD, Portal


async def signed_in(portal: Portal) -> Browser:
    browser = Browser(portal.url)
    response = await browser.login("alice", PASSWORD, next_path="/account")
    assert response.status == 303, await response.text()
    return browser


async def test_older_reads_are_counted_and_said_to_be(portal: Portal) -> None:
    coach = await portal.token("coach")
    assert await portal.read(coach) == 200
    assert await portal.read(coach, dataset="daily_max_power") == 403  # not consented
    assert await portal.read(coach, ref=BOB_PRM) == 200  # Bob's: never in Alice's history
    portal.clock.advance(timedelta(days=40))
    assert await sweep_retention(portal.db, portal.app[evidence_key], portal.app[metrics_key])
    alice = await signed_in(portal)
    try:
        _, html = await alice.get("/account/history?days=90&lang=en")
        text = text_of(html)
        assert re.findall(r"<tr>\s*<td><time", html) == []  # nothing left in detail
        assert "Older reads, counted" in text
        assert "keeps the detail of each read for 31 days" in text
        assert "The chart shows only the reads kept in detail" in text
        section = html.split('id="counts-h"', 1)[1]
        counted = re.findall(r'<tr>\s*<th scope="row">(.*?)</tr>', section, re.S)
        assert sorted(text_of(row).split(" Watt Coach ")[1].strip() for row in counted) == [
            "Daily consumption 1 0", "Daily maximum power 0 1"]
        assert all(text_of(row).startswith("week ") for row in counted)

        _, overview = await alice.get("/account?lang=en")
        assert "more than 31 days ago (1 read in the last 20 months)" in text_of(overview)
    finally:
        await alice.close()


async def test_attempts_are_counted_for_the_occupant_of_the_whole_period(
        portal: Portal) -> None:
    """Alice moved in on 1 March 2024, Paris time (29 February, 23:00 UTC): a week that
    starts before that may hold the previous occupant's attempts, so it is not hers."""
    inside = Bucket("week", datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 11, tzinfo=UTC))
    across = Bucket("week", datetime(2024, 2, 26, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
    rows = []
    for bucket in (inside, across):
        key = {"tenant_id": "default", "api": "native", "outcome": "denied",
               "recipient_id": portal.ids["coach"], "consent_id": None, "mandate_id": None,
               "point": str(ALICE_PRM), "dataset": "daily_consumption"}
        rows.append({"id": count_id(bucket, key), "grain": bucket.grain,
                     "period_start": bucket.start, "period_end": bucket.end, "count": 3,
                     **key})
    async with portal.db.engine.begin() as conn:
        await conn.execute(sa.insert(ACCESS_COUNT_TABLE), rows)
    wanted = HistoryFilter(since=datetime(2024, 1, 1, tzinfo=UTC),
                           until=portal.clock.now() + timedelta(seconds=1))
    async with portal.db.session() as session:
        history = await access_history(session, "default", portal.ids["alice"], wanted)
    assert [(c.start, c.refused, c.recipient) for c in history.counts] == [
        (inside.start, 3, "Watt Coach")]
    assert "Watt Coach" in [r.name for r in history.recipients]

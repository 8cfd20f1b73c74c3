"""The consent checks at the edges a request's own duration opens: the policy is enforced
again when the DSO's answer is in (R6), unless it could not differ; against the household's own
upstream authorisation; a window is bounded before anything is laid out day by day; and what a
denial or the points listing says is allowed can be asked as it is (whole days)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

import tests.proxy.world as world_module
from consent.access import ConsentGrant, PointFacts, next_midnight
from consent.invalidation import LocalBus
from consent.lifecycle import ActorRole
from consent.models import Consent, MeteringPoint, Party, Recipient, UpstreamAuthorisation
from consent.models.recipients import RecipientState
from consent.periods import Period
from consent.purposes import Purpose
from consent.services import registry
from consent.services.base import Actor
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService
from consent.storage import Database
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Resolution
from proxy.data.facts import AccessFacts, FactsLoader
from proxy.settings import Settings
from tests.proxy.world import (
    COACH_FROM,
    COACH_UNTIL,
    MOVE_IN,
    PRM,
    T0,
    World,
    build_world,
    midnight,
)
from tests.support.databases import SqliteFactory

WEEK = (date(2026, 11, 1), date(2026, 11, 8))


async def test_a_consent_expiring_during_the_dso_call_lets_no_data_out(world: World) -> None:
    token = await world.token("coach")
    world.clock.set(COACH_UNTIL - timedelta(milliseconds=1))
    asked = await world.series_while_the_dso_answers(token)
    world.clock.set(COACH_UNTIL + timedelta(seconds=1))  # the consent has ended
    status, body, _ = await asked
    event = (await world.events())[-1]
    assert (status, body["rule"]) == (403, "R6 consent active"), body
    assert (event["outcome"], event["rule"]) == ("denied", "R6 consent active")


@pytest.mark.parametrize("later", [timedelta(0), timedelta(seconds=1)])
async def test_a_withdrawal_during_the_dso_call_lets_no_data_out(world: World,
                                                                 later: timedelta) -> None:
    """However soon after the first decision (no time at all on the test's clock: the
    withdrawal's own invalidation is what calls for the second one)."""
    token = await world.token("coach")
    asked = await world.series_while_the_dso_answers(token)
    world.clock.set(world.clock.now() + later)
    await world.withdraw("coach")  # committed before the answer is sent
    status, body, _ = await asked
    assert (status, body["rule"]) == (403, "R6 consent active"), body


async def test_a_served_event_is_dated_when_the_checks_last_allowed_it(world: World) -> None:
    """The event of a served request carries the instant of the second check, after the DSO
    call: the one an auditor judges the release by (docs/evidence-format.md §9)."""
    token = await world.token("coach")
    asked = await world.series_while_the_dso_answers(token)
    released = world.clock.now() + timedelta(seconds=3)
    world.clock.set(released)
    status, _, _ = await asked
    event = (await world.events())[-1]
    assert (status, event["outcome"]) == (200, "served")
    assert event["at"] == released


async def test_another_households_upstream_authorisation_does_not_count(world: World) -> None:
    token = await world.token("dash")
    async with world.db.session() as session:
        paul = (await session.exec(select(Party).where(Party.name == "Paul Avant"))).one()
        point = (await session.exec(select(MeteringPoint))).one()
        await registry.add_upstream_authorisation(  # the previous occupant's, still "active"
            session, tenant_id="default", point=point, upstream_id="DC-PAUL",
            valid_from=midnight(date(2018, 1, 1)), valid_until=midnight(date(2029, 1, 1)),
            state=UpstreamState.ACTIVE, now=world.clock.now(), household_id=paul.id)
        await session.exec(sa.update(UpstreamAuthorisation)  # type: ignore[call-overload]
                           .where(UpstreamAuthorisation.household_id == world.household_id)
                           .values(valid_until=T0 + timedelta(hours=1)))
    world.clock.set(T0 + timedelta(hours=2))  # Ana's own authorisation has run out
    status, body, _ = await world.series(token, "daily_consumption", *WEEK)
    assert (status, body.get("rule")) == (403, "upstream authorisation"), (status, body)


async def test_a_far_future_window_is_refused_before_any_day_is_laid_out(
        world: World) -> None:
    """Under an open-ended upstream authorisation nothing else bounds the window's end: a
    window of millions of days is refused by arithmetic (no check lays it out day by day)."""
    token = await world.token("dash")
    async with world.db.session() as session:  # an open-ended authorisation (claims.py)
        await session.exec(sa.update(UpstreamAuthorisation)  # type: ignore[call-overload]
                           .values(valid_until=None))
    status, body, _ = await world.get(f"/api/v1/points/{PRM}/datasets/daily_consumption", token,
                                      start="2026-11-01", end="9000-01-01")
    assert (status, body["type"].rsplit("/", 1)[-1], body["max_days"]) == (
        400, "invalid-period", 1099), body
    status, _, _ = await world.get(f"/api/v1/points/{PRM}/datasets/daily_consumption", token,
                                   start="2023-11-22", end="2026-11-23")  # 1,097 days: checked
    assert status != 400
    event = (await world.events())[0]
    assert (event["outcome"], event["status"]) == ("invalid", 400)


async def test_a_bound_token_on_another_point_is_denied_by_r6_point_with_its_points(
        world: World) -> None:
    token = await world.token("coach", bound=True)
    status, body, _ = await world.get("/api/v1/points/enedis:11453290002823/datasets/"
                                      "daily_consumption", token, start="2026-11-01",
                                      end="2026-11-02")
    assert (status, body["rule"]) == (403, "R6 point"), body
    assert body["allowed"] == {"points": [str(PRM)]}


async def test_the_points_listing_says_from_when_a_read_is_allowed(world: World) -> None:
    """``GET /api/v1/points`` gives what a denial's ``allowed.window`` would: never before
    the household's move-in (R8), whatever the consent's history, and only the datasets the
    token's scope keeps."""
    token = await world.token("dash", scope="daily_consumption")
    _, body, _ = await world.get("/api/v1/points", token)
    (point,) = body["points"]
    assert datetime.fromisoformat(point["data_from"]) == midnight(MOVE_IN), point
    assert point["datasets"] == ["daily_consumption"]
    status, _, _ = await world.series(token, "daily_consumption", MOVE_IN,
                                      MOVE_IN + timedelta(days=1))
    assert status == 200  # the first day it names is readable


@pytest.mark.parametrize("later", [timedelta(milliseconds=100), timedelta(seconds=1)])
async def test_the_event_names_the_consent_the_second_check_allowed(world: World,
                                                                    later: timedelta) -> None:
    """A renewal takes over while the DSO call runs: the release is allowed under consent B,
    and the event names B, the consent in force at its instant (an auditor's §9 check). Within
    RECHECK_AFTER too: the first facts, judged again, deny, and the reading finds B."""
    service = ConsentService(world.db, world.clock)
    renewal = await service.give(Actor(ActorRole.SUBJECT, party_id=world.household_id),
                                 ConsentDraft(
        grantor_id=world.household_id, recipient_id=world.apps["coach"], points=[PRM],
        datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.ENERGY_MONITORING,
        valid_from=COACH_UNTIL, valid_until=COACH_UNTIL + timedelta(days=30),
        max_resolution=Resolution.P1D, history_days=1095, data_from=midnight(COACH_FROM)))
    token = await world.token("coach")  # app-wide (client credentials)
    world.clock.set(COACH_UNTIL - timedelta(milliseconds=1))
    asked = await world.series_while_the_dso_answers(token)
    world.clock.set(COACH_UNTIL + later)
    status, body, _ = await asked
    event = (await world.events())[-1]
    assert status == 200, body
    assert event["outcome"] == "served"
    # The event must name the consent in force at event["at"]:
    assert event["consent_id"] == renewal.row.id != world.consents["coach"]


async def test_a_recipient_suspended_during_the_dso_call_gets_no_data(world: World) -> None:
    """The token is judged again before data leaves: its recipient suspended during the DSO
    call gets a 401, not the data (a 12,600 s Data Connect token is where this matters)."""
    token = await world.token("dash")
    asked = await world.series_while_the_dso_answers(token)
    async with world.db.session() as session:
        await session.exec(sa.update(Recipient).where(Recipient.id == world.apps["dash"])
                           .values(state=RecipientState.SUSPENDED))
    status, _, _ = await asked
    assert status == 401
    event = (await world.events())[-1]
    assert (event["outcome"], event["rule"], event["values"]) == ("denied", "R6 token", 0)


async def test_a_window_past_the_upstream_authorisations_end_has_no_start_reason(
        world: World) -> None:
    """``reason: window`` says the window starts before the upstream authorisation (Data
    Connect's ADAM-DC-0009, "before the consent's start"); one reaching past its end is
    denied by the same rule without it."""
    token = await world.token("dash")
    async with world.db.session() as session:
        await session.exec(sa.update(UpstreamAuthorisation)  # type: ignore[call-overload]
                           .values(valid_until=T0 + timedelta(days=2)))
    today = T0.date()
    status, body, _ = await world.series(token, "daily_consumption", today - timedelta(days=2),
                                         today + timedelta(days=5))
    assert (status, body["rule"]) == (403, "upstream authorisation"), body
    assert "reason" not in body


@pytest.mark.parametrize("later", [timedelta(milliseconds=100), timedelta(seconds=2)])
async def test_an_expiry_crossed_during_the_dso_call_is_seen_however_soon(
        world: World, later: timedelta) -> None:
    """Within RECHECK_AFTER and nothing written, the consent is not read again, but its facts
    are still judged at the release's instant: an expiry crossed meanwhile stops the data."""
    token = await world.token("coach")
    world.clock.set(COACH_UNTIL - timedelta(milliseconds=1))
    asked = await world.series_while_the_dso_answers(token)
    world.clock.set(COACH_UNTIL + later)
    status, body, _ = await asked
    event = (await world.events())[-1]
    assert (status, body["rule"]) == (403, "R6 consent active"), body
    assert (event["outcome"], event["rule"]) == ("denied", "R6 consent active")


async def test_within_a_second_and_nothing_written_the_facts_are_not_read_again(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The skip: the facts are read when the request comes in, not at the release (half a
    second later, no write heard of), and the event is dated at the release, when its facts
    were last judged."""
    token = await world.token("coach")
    reads: list[datetime] = []
    load = FactsLoader.load

    async def counted(self: FactsLoader, **kwargs: Any) -> AccessFacts:
        reads.append(kwargs["at"])
        return await load(self, **kwargs)

    monkeypatch.setattr(FactsLoader, "load", counted)
    asked = await world.series_while_the_dso_answers(token)
    released = world.clock.now() + timedelta(milliseconds=500)
    world.clock.set(released)
    status, _, _ = await asked
    event = (await world.events())[-1]
    assert (status, event["outcome"]) == (200, "served")
    assert reads
    assert max(reads) < released  # no reading at the release
    assert event["at"] == released


async def test_with_the_bus_unhealthy_the_second_decision_is_always_taken(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the bus nothing tells a write was heard of: the second decision is not
    skipped, however soon (here an expiry 100 ms after the first decision is seen)."""
    monkeypatch.setattr(LocalBus, "healthy", property(lambda self: False))
    token = await world.token("coach")
    world.clock.set(COACH_UNTIL - timedelta(milliseconds=1))
    asked = await world.series_while_the_dso_answers(token)
    world.clock.set(COACH_UNTIL + timedelta(milliseconds=100))
    status, body, _ = await asked
    assert (status, body["rule"]) == (403, "R6 consent active"), body


@pytest.fixture(params=[0.0, 0.1])
async def uncached_world(request: pytest.FixtureRequest, sqlite_factory: SqliteFactory,
                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                         ) -> AsyncIterator[World]:
    """The proxy world with PASSERELLE_CHECK_CACHE_TTL=0 (read on every request) or 0.1 s
    (shorter-lived than RECHECK_AFTER)."""
    monkeypatch.setattr(world_module, "Settings",
                        partial(Settings, check_cache_ttl=request.param))
    url = sqlite_factory.create()
    # The DSO is slow enough (see the test) for the withdrawal to land during its call even
    # on a loaded machine: at 0.2 s it once did not, and the release was rightly served.
    w = await build_world(url, tmp_path / "instance", dso_timeout=3.0)
    w.url = url  # type: ignore[attr-defined]
    yield w
    await w.client.close()
    sqlite_factory.drop(url)


async def test_with_caches_off_a_write_the_bus_did_not_carry_is_still_seen(
        uncached_world: World) -> None:
    """With caches off (or shorter-lived than RECHECK_AFTER), every read sees the database;
    a withdrawal committed by a writer whose change feed does not reach this process's bus
    (another replica before its NOTIFY, manual SQL, another process on SQLite) during the DSO
    call must stop the release, as the full second decision did before the skip."""
    world = uncached_world
    token = await world.token("coach")
    other = Database.from_url(world.url)  # type: ignore[attr-defined]
    try:
        asked = await world.series_while_the_dso_answers(token, delay=1.5)
        await ConsentService(other, world.clock).withdraw(
            Actor(ActorRole.SUBJECT, party_id=world.household_id), world.consents["coach"])
        assert not asked.done(), "the DSO answered before the withdrawal was committed"
        world.clock.set(world.clock.now() + timedelta(milliseconds=900))
        status, body, _ = await asked
    finally:
        await other.dispose()
    assert (status, body.get("rule")) == (403, "R6 consent active"), body


@pytest.mark.parametrize(("mandate_id", "supplier", "vouched"), [
    (None, False, True), ("mandate-1", False, False), (None, True, False)])
def test_only_facts_from_the_caches_let_the_second_decision_be_skipped(
        mandate_id: str | None, supplier: bool, vouched: bool) -> None:
    """A mandate and a supplier's contract are read from the database on every request: no
    cache generation vouches for them, so a decision on them is always taken again."""
    grant = ConsentGrant(consent_id="" if mandate_id else "c-1", recipient_id="r-1",
                         active=True, access=Period(T0), points=frozenset({PRM}),
                         datasets=frozenset({Dataset.DAILY_CONSUMPTION}),
                         data_window=Period(T0 - timedelta(days=365)),
                         recipient_is_supplier=supplier, mandate_id=mandate_id)
    facts = AccessFacts(PRM, ZoneInfo("Europe/Paris"), "p-1", grant, PointFacts())
    assert FactsLoader.cached_only(facts) is vouched
    assert FactsLoader.cached_only(replace(facts, consent=None)) is False


async def test_a_denial_names_a_first_day_that_can_be_asked(world: World) -> None:
    """A history floor counted back from the present instant falls within a day (11:00 on
    2026-10-23 for 30 days at 10:00 Paris): ``allowed`` names the next local midnight, the first
    whole day both APIs can ask for, and asking it is served."""
    await world.withdraw("dash")
    await ConsentService(world.db, world.clock).give(
        Actor(ActorRole.SUBJECT, party_id=world.household_id), ConsentDraft(
            grantor_id=world.household_id, recipient_id=world.apps["dash"], points=[PRM],
            datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.ENERGY_MONITORING,
            valid_from=T0, valid_until=T0 + timedelta(days=30),
            max_resolution=Resolution.P1D, history_days=30))
    token = await world.token("dash", scope="daily_consumption")
    status, body, _ = await world.series(token, "daily_consumption", date(2026, 10, 22),
                                         date(2026, 10, 26))
    assert (status, body["rule"]) == (403, "R6 data window"), body
    first_day = datetime.fromisoformat(body["allowed"]["window"]["start"])
    assert first_day == midnight(date(2026, 10, 24))
    # ... and its end is today's local midnight (yesterday the last day), not some day in
    # 2029 (the upstream authorisation's end) that would answer not-yet-available.
    end = datetime.fromisoformat(body["allowed"]["window"]["end"])
    assert end == midnight(T0.date())
    _, listed, _ = await world.get("/api/v1/points", token)
    assert [p["data_from"] for p in listed["points"]] == [first_day.isoformat()]
    status, _, _ = await world.series(token, "daily_consumption", first_day.date(),
                                      date(2026, 10, 26))
    assert status == 200
    status, whole, _ = await world.series(token, "daily_consumption", first_day.date(),
                                          end.date())
    assert status == 200, whole  # the whole allowed window, as it is said, is served


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31),
                    timezones=st.just(UTC)))
def test_next_midnight_is_the_first_local_midnight_not_before_the_instant(
        instant: datetime) -> None:
    paris = ZoneInfo("Europe/Paris")
    got = next_midnight(instant, paris)
    local = got.astimezone(paris)
    assert local.time() == time()
    assert instant <= got < instant + timedelta(hours=25)
    assert (got == instant) is (instant.astimezone(paris).time() == time())
    # no local midnight lies in between
    assert local.date() - instant.astimezone(paris).date() <= timedelta(days=1)


@pytest.mark.parametrize("later", [timedelta(milliseconds=100), timedelta(milliseconds=1100)])
async def test_a_history_floor_crossed_during_the_dso_call_is_seen_however_soon(
        world: World, later: timedelta) -> None:
    """dash's consent reads 30 days back; its first allowed day (8 November) leaves that
    history a millisecond after the first decision, during the DSO call. Skipped reading or
    not, the release is judged at its own instant: denied (found by review: the skip judged
    the window the snapshot had computed at the first instant, and served an event the
    auditor's §9 check flags as older than the history)."""
    async with world.db.session() as session:
        await session.exec(sa.update(Consent).where(  # type: ignore[call-overload]
            Consent.id == world.consents["dash"]).values(history_days=30))
    day = date(2026, 11, 8)  # the day the helper asks, after a first week it cannot read
    world.clock.set(midnight(day) + timedelta(days=30) - timedelta(milliseconds=1))
    token = await world.token("dash")
    asked = await world.series_while_the_dso_answers(token, day=day)
    world.clock.set(world.clock.now() + later)
    status, body, _ = await asked
    assert (status, body.get("rule")) == (403, "R6 data window"), body
    assert (await world.events())[-1]["outcome"] == "denied"

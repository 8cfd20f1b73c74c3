"""When more than one grant could decide a request: an app holding several consents on one point
(R6), a point whose upstream authorisation was renewed while the previous one still runs. Each
grant in force must be usable, on the native and the Data Connect-compatible API alike, and the
access event must cite the consent that allowed the read."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from consent.lifecycle import ActorRole
from consent.models import MeteringPoint
from consent.purposes import Purpose
from consent.services import registry
from consent.services.base import Actor
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Resolution
from tests.proxy.world import PRM, World, midnight

WEEK = (date(2026, 11, 1), date(2026, 11, 8))
DAILY_DC = "/compat/enedis/metering_data_dc/v5/daily_consumption"
PEAK_DC = "/compat/enedis/metering_data_dcmp/v5/daily_consumption_max_power"
SCOPE = "daily_consumption consumption_load_curve daily_max_power"


async def _second_coach_consent(world: World) -> str:
    """The household gives coach, which already reads consumption, a consent for its daily
    peaks only; given later, so it is the most recently changed."""
    world.clock.set(world.clock.now() + timedelta(minutes=1))
    given = await ConsentService(world.db, world.clock).give(
        Actor(ActorRole.SUBJECT, party_id=world.household_id), ConsentDraft(
            grantor_id=world.household_id, recipient_id=world.apps["coach"], points=[PRM],
            datasets=[Dataset.DAILY_MAX_POWER], purpose=Purpose.ENERGY_MONITORING,
            valid_until=world.clock.now() + timedelta(days=5), max_resolution=Resolution.P1D,
            history_days=365))
    return given.row.id


async def _dc(world: World, path: str, token: str) -> int:
    status, _, _ = await world.get(path, token, usage_point_id=PRM.identifier,
                                   start=WEEK[0].isoformat(), end=WEEK[1].isoformat())
    return status


async def test_an_app_wide_token_reads_under_each_consent_in_force(world: World) -> None:
    peaks = await _second_coach_consent(world)
    token = await world.token("coach", scope=SCOPE)
    status, body, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == 200, body
    assert body["consent"] == world.consents["coach"]
    status, body, _ = await world.series(token, "daily_max_power", *WEEK)
    assert status == 200, body
    assert body["consent"] == peaks
    assert await _dc(world, DAILY_DC, token) == 200
    assert await _dc(world, PEAK_DC, token) == 200
    served = [(e["dataset"], e["consent_id"]) for e in await world.events()]
    assert served == [("daily_consumption", world.consents["coach"]),
                      ("daily_max_power", peaks),
                      ("daily_consumption", world.consents["coach"]),
                      ("daily_max_power", peaks)]


async def test_a_dataset_no_consent_in_force_covers_is_still_denied(world: World) -> None:
    await _second_coach_consent(world)
    token = await world.token("coach", scope=SCOPE + " contract")
    status, body, _ = await world.get(f"/api/v1/points/{PRM}/datasets/contract", token)
    assert status == 403, body
    assert body["rule"] == "R6 dataset"
    await world.withdraw("coach")  # the consumption consent ends: the peaks' one remains
    status, body, _ = await world.series(token, "daily_consumption", *WEEK)
    assert (status, body["rule"]) == (403, "R6 dataset"), body
    assert body["allowed"]["datasets"] == ["daily_max_power"]
    assert await _dc(world, PEAK_DC, token) == 200


async def test_a_renewed_upstream_authorisation_leaves_no_seam(world: World) -> None:
    """DC-1 runs 2024-01-01 to 2029-01-01; DC-2, granted since, 2026-06-01 to 2029-06-01:
    January 2026 is DC-1's alone, and DC-2 (the latest) must not hide it."""
    async with world.db.session() as session:
        point = (await session.exec(select(MeteringPoint))).one()
        await registry.add_upstream_authorisation(
            session, tenant_id="default", point=point, upstream_id="DC-2",
            valid_from=midnight(date(2026, 6, 1)), valid_until=midnight(date(2029, 6, 1)),
            state=UpstreamState.ACTIVE, now=world.clock.now(), household_id=world.household_id)
    token = await world.token("dash")
    status, body, _ = await world.series(token, "daily_consumption", date(2026, 1, 5),
                                         date(2026, 1, 12))
    assert status == 200, body
    await world.end_upstream()  # both revoked at the DSO: nothing covers the point any more
    status, body, _ = await world.series(token, "daily_consumption", date(2026, 1, 5),
                                         date(2026, 1, 12))
    assert (status, body["rule"]) == (403, "upstream authorisation"), body

"""The native API end to end: served within the consent, denied outside it, evidenced always.

Each enforcement rule is exercised allowing and denying at its boundary: first allowed day of
the consent's data window, the household's move-in day, the last publishable day, the consent's
expiry instant, a withdrawal between two requests.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from adapters.simulator import Fault, FaultKind
from consent.errors import InvalidIdentifier
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole
from consent.purposes import Purpose
from consent.services import registry
from consent.services.base import Actor
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService
from consent.vocabulary import Dataset, Direction, Energy, Resolution
from proxy.data.evidence import ABANDONED
from proxy.native import resolve_point
from proxy.verified_token import VerifiedToken
from tests.proxy.world import (
    COACH_FROM,
    COACH_UNTIL,
    MOVE_IN,
    PRM,
    T0,
    World,
    midnight,
    profile,
    sha256,
)

TODAY = date(2026, 11, 22)
WEEK = (date(2026, 11, 1), date(2026, 11, 8))


async def test_daily_values_in_the_normalised_shape(world: World) -> None:
    token = await world.token("dash")
    status, body, headers = await world.series(token, "daily_consumption", *WEEK)
    assert status == 200, body
    assert (body["point"], body["dataset"], body["unit"]) == (str(PRM), "daily_consumption", "Wh")
    assert (body["resolution"], body["timezone"]) == ("P1D", "Europe/Paris")
    assert body["consent"] == world.consents["dash"]
    assert body["window"] == {"start": "2026-11-01T00:00:00+01:00",
                              "end": "2026-11-08T00:00:00+01:00"}
    assert len(body["values"]) == 7
    first = body["values"][0]
    assert (first["start"], first["end"]) == ("2026-11-01T00:00:00+01:00",
                                              "2026-11-02T00:00:00+01:00")
    assert first["quality"] == "raw"
    assert int(first["value"]) > 0
    assert headers["X-Request-Id"]
    # A household's data: no cache may keep it (only 401s and token answers said so before).
    assert headers["Cache-Control"] == "no-store"


async def test_only_static_files_may_be_cached(world: World) -> None:
    token = await world.token("dash")
    for path in ("/api/v1/points", "/api/v1/consents/current",
                 "/compat/enedis/customers_upa/v5/usage_points/addresses"):
        _status, _body, headers = await world.get(path, token)
        assert headers["Cache-Control"] == "no-store", path
    async with world.client.get("/static/passerelle.css") as response:
        assert response.status == 200
        assert "Cache-Control" not in response.headers


async def test_every_request_leaves_a_complete_event_with_the_hash_of_the_body(
        world: World) -> None:
    token = await world.token("dash")
    await world.series(token, "daily_consumption", *WEEK)
    served_body = world.last_body
    await world.series(token, "daily_consumption", MOVE_IN - timedelta(days=1), MOVE_IN)
    denied_body = world.last_body
    served, denied = await world.events()
    assert served["outcome"] == "served"
    assert served["status"] == 200
    assert served["body_sha256"] == sha256(served_body)
    assert (served["recipient_id"], served["consent_id"]) == (world.apps["dash"],
                                                              world.consents["dash"])
    assert (served["point"], served["dataset"], served["resolution"]) == (
        str(PRM), "daily_consumption", "P1D")
    assert served["window_start"] == midnight(WEEK[0])
    assert served["window_end"] == midnight(WEEK[1])
    assert served["values"] == 7
    assert served["upstream_calls"] >= 1
    assert served["upstream"]
    assert denied["outcome"] == "denied"
    assert denied["rule"] == "R8 occupancy"
    assert denied["status"] == 403
    assert denied["body_sha256"] == sha256(denied_body)
    assert denied["upstream_calls"] == 0
    assert denied["values"] == 0


@pytest.mark.parametrize("path", [
    f"/api/v1/points/{PRM}/datasets/daily_consumption?start=2026-11-01&end=2026-11-08",
    "/compat/enedis/metering_data_dc/v5/daily_consumption?usage_point_id="
    f"{PRM.identifier}&start=2026-11-01&end=2026-11-08",
])
async def test_a_head_request_is_evidenced_with_the_body_it_was_sent(world: World,
                                                                      path: str) -> None:
    """HEAD is answered with headers only: its event hashes the empty body actually sent and
    counts no values (found by review: it recorded the hash and values of the GET's body)."""
    token = await world.token("dash")
    async with world.client.head(path, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        assert await response.read() == b""
    event = (await world.events())[-1]
    assert (event["outcome"], event["status"]) == ("served", 200)
    assert (event["body_sha256"], event["values"]) == (sha256(b""), 0)


# --- R8: the move-in day ------------------------------------------------------------------------

async def test_the_move_in_day_is_the_households_first_day(world: World) -> None:
    token = await world.token("dash")
    status, body, _ = await world.series(token, "daily_consumption", MOVE_IN,
                                         MOVE_IN + timedelta(days=3))
    assert status == 200, body
    assert body["values"][0]["start"] == midnight(MOVE_IN).isoformat()
    status, body, _ = await world.series(token, "daily_consumption",
                                         MOVE_IN - timedelta(days=1), MOVE_IN + timedelta(days=3))
    assert status == 403
    assert body["rule"] == "R8 occupancy"
    assert body["allowed"]["window"]["start"] == midnight(MOVE_IN).isoformat()
    assert body["type"].endswith("/access-denied")


# --- R6 data window: the consent's first allowed day ------------------------------------------

async def test_the_first_day_of_the_consents_data_window(world: World) -> None:
    token = await world.token("coach")
    status, _, _ = await world.series(token, "daily_consumption", COACH_FROM,
                                      COACH_FROM + timedelta(days=2))
    assert status == 200
    status, body, _ = await world.series(token, "daily_consumption",
                                         COACH_FROM - timedelta(days=1), COACH_FROM)
    assert status == 403
    assert body["rule"] == "R6 data window"
    assert body["allowed"]["window"]["start"] == midnight(COACH_FROM).isoformat()


# --- the last day that can be asked for: D-1 ----------------------------------------------------

async def test_the_last_day_served_is_yesterday(world: World) -> None:
    token = await world.token("dash")
    status, body, _ = await world.series(token, "daily_consumption",
                                         TODAY - timedelta(days=1), TODAY)
    assert status == 200
    assert body["values"][-1]["end"] == midnight(TODAY).isoformat()
    status, body, _ = await world.series(token, "daily_consumption", TODAY,
                                         TODAY + timedelta(days=1))
    assert status == 400
    assert body["type"].endswith("/not-yet-available")


# --- R6 consent active: expiry instant, withdrawal between two requests ------------------------

async def test_the_consents_expiry_instant(world: World) -> None:
    token = await world.token("coach")
    world.clock.set(COACH_UNTIL - timedelta(microseconds=1))
    status, _, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == 200
    world.clock.set(COACH_UNTIL)
    status, body, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == 403
    assert body["rule"] == "R6 consent active"


async def test_withdrawal_between_two_requests(world: World) -> None:
    app_wide, bound = await world.token("dash"), await world.token("dash", bound=True)
    for token in (app_wide, bound):
        status, _, _ = await world.series(token, "daily_consumption", *WEEK)
        assert status == 200
    await world.withdraw("dash")
    status, body, _ = await world.series(app_wide, "daily_consumption", *WEEK)
    assert status == 403
    assert body["rule"] == "R6 consent active"
    status, body, headers = await world.series(bound, "daily_consumption", *WEEK)
    assert status == 401  # the token died with its consent (RFC 6750 invalid_token)
    assert "invalid_token" in headers["WWW-Authenticate"]
    assert [e["rule"] for e in (await world.events())[-2:]] == ["R6 consent active", "R6 token"]


# --- R6 resolution: a daily-only consent gets daily values, never the curve ---------------------

async def test_daily_only_consent_gets_daily_values_from_the_curve(world: World) -> None:
    token = await world.token("dash")
    status, body, _ = await world.series(token, "consumption_load_curve", *WEEK)
    assert status == 200, body
    assert body["resolution"] == "P1D"
    assert len(body["values"]) == 7
    assert body["unit"] == "W"
    status, body, _ = await world.series(token, "consumption_load_curve", *WEEK,
                                         resolution="PT30M")
    assert status == 403
    assert body["rule"] == "R6 resolution"
    assert body["allowed"] == {"finest_resolution": "P1D"}


async def test_a_daily_dataset_asked_finer_than_a_day_is_a_request_error(world: World) -> None:
    """Daily values have no half-hours, whatever a consent says: 400 with what can be asked
    (found by review: a 403 telling the app to ask the household for more)."""
    token = await world.token("coach")
    status, body, _ = await world.series(token, "daily_consumption", *WEEK, resolution="PT30M")
    assert (status, body["type"].rsplit("/", 1)[-1]) == (400, "resolution-unavailable"), body
    assert body["reachable"] == ["P1D", "P1W", "P1M", "P1Y"]
    assert (await world.events())[-1]["outcome"] == "invalid"


async def test_a_window_holding_no_whole_week_is_refused_not_served_empty(world: World) -> None:
    """Friday to Friday at P1W holds no Monday-to-Monday week: a 400 saying so, not an empty
    200 that looks like missing data (found by review)."""
    token = await world.token("coach")
    status, body, _ = await world.series(token, "daily_consumption", date(2026, 10, 30),
                                         date(2026, 11, 6), resolution="P1W")
    assert (status, body["type"].rsplit("/", 1)[-1], body["resolution"]) == (
        400, "invalid-period", "P1W"), body
    status, body, _ = await world.series(token, "daily_consumption", date(2026, 11, 2),
                                         date(2026, 11, 9), resolution="P1W")
    assert (status, len(body["values"])) == (200, 1), body


async def test_a_curve_consent_gets_its_resolution(world: World) -> None:
    token = await world.token("coach")
    status, body, _ = await world.series(token, "consumption_load_curve",
                                         date(2026, 11, 2), date(2026, 11, 3))
    assert status == 200, body
    assert body["resolution"] == "PT30M"
    assert len(body["values"]) == 48
    status, body, _ = await world.series(token, "consumption_load_curve",
                                         date(2026, 11, 2), date(2026, 11, 3), resolution="PT15M")
    assert status == 403
    assert body["allowed"] == {"finest_resolution": "PT30M"}


async def test_a_cap_the_meter_step_does_not_divide(world: World) -> None:
    """A meter recording every 10 minutes and a consent capped at PT15M: by default the finest
    whole intervals within the cap (PT30M); PT15M asked for is refused with what can be served,
    never answered with an empty curve."""
    world.simulator.add(replace(profile(), curve_steps=(Resolution.PT10M,)))
    await world.withdraw("coach")
    world.clock.set(world.clock.now() + timedelta(minutes=1))
    given = await ConsentService(world.db, world.clock).give(
        Actor(ActorRole.SUBJECT, party_id=world.household_id), ConsentDraft(
            grantor_id=world.household_id, recipient_id=world.apps["coach"], points=[PRM],
            datasets=[Dataset.CONSUMPTION_LOAD_CURVE], purpose=Purpose.ENERGY_MONITORING,
            valid_until=COACH_UNTIL, max_resolution=Resolution.PT15M, history_days=365))
    token = await world.token("coach", scope="consumption_load_curve")
    day = (date(2026, 11, 2), date(2026, 11, 3))
    status, body, _ = await world.series(token, "consumption_load_curve", *day)
    assert status == 200, body
    assert (body["consent"], body["resolution"], len(body["values"])) == (
        given.row.id, "PT30M", 48)
    status, body, _ = await world.series(token, "consumption_load_curve", *day,
                                         resolution="PT15M")
    assert status == 400, body
    assert body["type"].endswith("/resolution-unavailable")
    # What the meter makes whole intervals of and the consent releases (not PT10M: capped).
    assert (body["available"], body["reachable"][:2]) == ("PT10M", ["PT30M", "PT1H"])
    status, body, _ = await world.series(token, "consumption_load_curve", *day,
                                         resolution="PT1H")
    assert (status, body["resolution"], len(body["values"])) == (200, "PT1H", 24)
    events = (await world.events())[-3:]
    assert [(e["outcome"], e["resolution"]) for e in events] == [
        ("served", "PT30M"), ("invalid", "PT15M"), ("served", "PT1H")]


# --- R6 point and dataset; upstream authorisation ---------------------------------------------

async def test_dataset_outside_the_consent(world: World) -> None:
    token = await world.token("coach")
    status, body, _ = await world.series(token, "daily_max_power", *WEEK)
    assert status == 403
    assert body["rule"] == "R6 dataset"
    assert body["allowed"]["datasets"] == ["consumption_load_curve", "daily_consumption"]


async def test_point_without_consent(world: World) -> None:
    token = await world.token("dash")
    status, body, _ = await world.get("/api/v1/points/enedis:11453290002823/datasets/"
                                      "daily_consumption", token, start="2026-11-01",
                                      end="2026-11-02")
    assert status == 403
    assert body["rule"] == "R6 consent active"


async def test_the_upstream_authorisation_ends_every_consent(world: World) -> None:
    token = await world.token("dash")
    await world.end_upstream()
    status, body, _ = await world.series(token, "daily_consumption", *WEEK)
    assert status == 403
    assert body["rule"] == "upstream authorisation"


async def test_no_token_is_401_with_a_challenge_and_is_evidenced(world: World) -> None:
    status, body, headers = await world.series("", "daily_consumption", *WEEK)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert body["status"] == 401
    (event,) = await world.events()
    assert (event["outcome"], event["rule"], event["recipient_id"]) == ("denied", "R6 token", None)


async def test_bad_input_is_a_clear_400(world: World) -> None:
    token = await world.token("dash")
    status, body, _ = await world.series(token, "daily_consumption", WEEK[1], WEEK[0])
    assert status == 400
    assert body["type"].endswith("/invalid-period")
    status, body, _ = await world.series(token, "daily_consumption", *WEEK, resolution="PT7M")
    assert status == 400
    status, body, _ = await world.get("/api/v1/points/22516914714270/datasets/nope", token)
    assert status == 400
    assert (await world.events())[-1]["outcome"] == "invalid"


# --- records ------------------------------------------------------------------------------------

async def test_records_carry_only_the_datasets_fields(world: World) -> None:
    token = await world.token("dash", bound=True)
    status, body, _ = await world.get("/api/v1/points/22516914714270/datasets/identity", token)
    assert status == 200, body
    assert body["fields"] == {"title": "Mme", "firstname": "Ana", "lastname": "Martin",
                              "legal_entity_name": None, "siret_number": None}
    status, body, _ = await world.get(f"/api/v1/points/{PRM}/datasets/contact", token)
    assert status == 403
    assert body["rule"] == "R6 dataset"
    status, body, _ = await world.get(f"/api/v1/points/{PRM}/datasets/identity", token,
                                      resolution="P1D")
    assert (status, body["type"].rsplit("/", 1)[-1]) == (400, "invalid-input"), body
    assert "no resolution" in body["detail"]
    assert (await world.events())[-1]["outcome"] == "invalid"


# --- listing --------------------------------------------------------------------------------------

async def test_points_and_current_consents(world: World) -> None:
    token = await world.token("coach", bound=True)
    status, body, _ = await world.get("/api/v1/points", token)
    assert status == 200
    (point,) = body["points"]
    assert point["point"] == str(PRM)
    assert point["consent"] == world.consents["coach"]
    assert point["max_resolution"] == "PT30M"
    assert datetime.fromisoformat(point["data_from"]) == midnight(COACH_FROM)
    status, body, _ = await world.get("/api/v1/consents/current", token)
    (consent,) = body["consents"]
    assert consent["id"] == world.consents["coach"]
    assert consent["state"] == "active"
    assert consent["points"] == [str(PRM)]


async def test_each_point_lists_only_the_datasets_it_can_have(world: World) -> None:
    """Two consents mixing an electricity consumer with a prosumer, and with a gas point: the
    listing names per point only what its energy and directions can give (a gas point has no
    maximum power, a consumer no production), as a read of the others could only fail."""
    now = world.clock.now()
    gas, solar = PointRef(Source.GRDF, "19112233445566"), PointRef(Source.ENEDIS, "24134785609130")
    async with world.db.session() as session:
        for ref, energy, directions in (
                (gas, Energy.GAS, [Direction.CONSUMPTION]),
                (solar, Energy.ELECTRICITY, [Direction.CONSUMPTION, Direction.PRODUCTION])):
            point = await registry.add_point(session, tenant_id="default", ref=ref,
                                             energy=energy, directions=directions, now=now)
            await registry.add_occupancy(session, tenant_id="default", point_id=point.id,
                                         household_id=world.household_id,
                                         starts_at=midnight(MOVE_IN), ends_at=None, now=now)
    service = ConsentService(world.db, world.clock)
    household = Actor(ActorRole.SUBJECT, party_id=world.household_id)
    token = await world.token("coach", scope="daily_consumption daily_max_power "
                                             "daily_production contract")
    # One at a time: the coach holds the PRM already, and a third point of the household
    # would take R14's written path.
    for other, datasets, expected in (
            (solar, [Dataset.DAILY_PRODUCTION, Dataset.DAILY_MAX_POWER], {
                str(PRM): ["daily_consumption", "daily_max_power"],
                str(solar): ["daily_consumption", "daily_max_power", "daily_production"]}),
            (gas, [Dataset.DAILY_MAX_POWER, Dataset.CONTRACT], {
                str(PRM): ["contract", "daily_consumption", "daily_max_power"],
                str(gas): ["contract", "daily_consumption"]})):
        answer = await service.give(household, ConsentDraft(
            grantor_id=world.household_id, recipient_id=world.apps["coach"],
            points=[PRM, other], datasets=[Dataset.DAILY_CONSUMPTION, *datasets],
            purpose=Purpose.ENERGY_MONITORING, valid_until=COACH_UNTIL,
            max_resolution=Resolution.P1D, history_days=365))
        given = answer.row.id
        status, body, _ = await world.get("/api/v1/points", token)
        assert status == 200, body
        listed = {(p["consent"], p["point"]): p["datasets"] for p in body["points"]}
        assert listed == {(world.consents["coach"], str(PRM)): ["daily_consumption"],
                          **{(given, point): names for point, names in expected.items()}}
        status, body, _ = await world.get("/api/v1/consents/current", token)
        consented = {c["id"]: c["datasets"] for c in body["consents"]}
        # The consent itself still says what was consented to, for all its points.
        assert consented[given] == sorted(d.value for d in [Dataset.DAILY_CONSUMPTION,
                                                              *datasets])
        await service.withdraw(household, given)


# --- economy and failures -------------------------------------------------------------------------

async def test_a_day_is_fetched_once_whichever_app_asks(world: World) -> None:
    dash, coach = await world.token("dash"), await world.token("coach")
    await world.series(dash, "daily_consumption", *WEEK)
    await world.series(coach, "daily_consumption", *WEEK)
    await world.series(dash, "daily_consumption", WEEK[0], WEEK[1] + timedelta(days=2))
    first, second, third = await world.events()
    assert first["upstream_calls"] >= 1
    assert (second["upstream_calls"], second["cache_days"]) == (0, 7)
    assert (third["upstream_calls"], third["cache_days"]) == (1, 7)
    assert third["upstream"] == ["daily_consumption 2026-11-08..2026-11-09"]


@pytest.mark.parametrize(("fault", "status"), [
    (Fault.of(FaultKind.UNAVAILABLE, status=502, retry_after=7), 503),
    (Fault.of(FaultKind.RATE_LIMITED, retry_after=30), 503),
    (Fault.of(FaultKind.TIMEOUT, delay=5), 504),
])
async def test_upstream_failures_map_to_5xx_problems(world: World, fault: Fault,
                                                     status: int) -> None:
    token = await world.token("dash")
    await world.series(token, "daily_consumption", *WEEK)  # describes the point once
    world.simulator.faults.next(fault)
    got, body, headers = await world.series(token, "daily_consumption", WEEK[1],
                                            WEEK[1] + timedelta(days=1))
    assert got == status
    assert headers["Content-Type"].startswith("application/problem+json")
    if status == 503:
        assert int(headers["Retry-After"]) >= 1
    assert "simulated" not in body["detail"].lower()
    assert set(body) <= {"type", "title", "status", "detail", "instance", "retry_after"}
    event = (await world.events())[-1]
    assert event["outcome"] == "failed"
    # The call was made, and failed: the access event says so (R16: every upstream call).
    assert event["upstream_calls"] == 1
    assert event["upstream"] == [f"daily_consumption 2026-11-08..2026-11-08 -> {body['type']}"
                                 .replace("https://passerelle.dev/problems/", "")]


async def test_a_request_whose_client_goes_away_still_leaves_its_event(world: World) -> None:
    """aiohttp's test server cancels the handler of a request whose client disconnects
    (``handler_cancellation``): the request is evidenced all the same (R16), status 499,
    nothing sent."""
    token = await world.token("dash")
    asked = await world.series_while_the_dso_answers(token)
    asked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asked
    for _ in range(100):
        events = await world.events()
        if len(events) == 2:
            break
        await asyncio.sleep(0.05)
    event = events[-1]
    assert (event["outcome"], event["status"]) == ("failed", 499), event
    assert event["body_sha256"] == sha256(b"")
    assert event["recipient_id"] == world.apps["dash"]
    assert (event["point"], event["dataset"]) == (str(PRM), "daily_consumption")
    assert event["reason"] == ABANDONED


async def test_a_nul_in_a_data_url_is_refused_in_the_apis_shape_and_evidenced(
        world: World) -> None:
    """Refused before anything reads it, yet evidenced like any other invalid request (R16),
    each API in its own error shape."""
    token = await world.token("dash")
    status, body, _ = await world.get(f"/api/v1/points/{PRM}%00/datasets/daily_consumption",
                                      token, start="2026-11-01", end="2026-11-08")
    assert (status, body["type"].rsplit("/", 1)[-1]) == (400, "invalid-input"), body
    status, body, _ = await world.get("/compat/enedis/metering_data_dc/v5/daily_consumption"
                                      f"?usage_point_id={PRM.identifier}&start=2026-11-01"
                                      "&end=2026-11-08%00", token)
    assert (status, body["error"]) == (400, "invalid_request"), body
    assert "NUL" in body["error_description"]
    events = await world.events()
    assert [(e["outcome"], e["api"], e["status"]) for e in events] == [
        ("invalid", "native", 400), ("invalid", "compat/enedis", 400)]
    assert all(e["recipient_id"] is None for e in events)  # refused before the token is read


async def test_a_parameter_given_twice_is_refused_on_both_apis(world: World) -> None:
    """``start=...&start=...``: which one was meant is not Passerelle's to guess."""
    token = await world.token("dash")

    async def get(path_and_query: str) -> tuple[int, Any]:
        async with world.client.get(path_and_query, headers={  # no params=: sent as written
                "Authorization": f"Bearer {token}"}) as answer:
            return answer.status, await answer.json(content_type=None)

    status, body = await get(f"/api/v1/points/{PRM}/datasets/daily_consumption"
                             "?start=2026-11-01&end=2026-11-08&start=2026-10-01")
    assert (status, body["type"].rsplit("/", 1)[-1], body["field"]) == (
        400, "invalid-input", "start")
    status, body = await get("/compat/enedis/metering_data_dc/v5/daily_consumption"
                             f"?usage_point_id={PRM.identifier}&start=2026-11-01"
                             "&end=2026-11-08&usage_point_id=11453290002823")
    assert (status, body["error"]) == (400, "invalid_request")
    assert "usage_point_id" in body["error_description"]
    assert [(e["outcome"], e["status"]) for e in await world.events()] == [("invalid", 400)] * 2


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_another_method_on_a_data_path_is_a_405_and_is_evidenced(
        world: World, method: str) -> None:
    """Every request to a data path leaves its event (R16), a method the path does not
    have included: 405 with ``Allow``, in each API's own error shape."""
    token = await world.token("dash")
    headers = {"Authorization": f"Bearer {token}"}
    paths = [(f"/api/v1/points/{PRM}/datasets/daily_consumption?start=2026-11-01"
              "&end=2026-11-08", "native"),
             ("/api/v1/points", "native"),
             ("/compat/enedis/metering_data_dc/v5/daily_consumption"
              f"?usage_point_id={PRM.identifier}&start=2026-11-01&end=2026-11-08",
              "compat/enedis")]
    for path, api in paths:
        async with world.client.request(method, path, headers=headers, data=b"{}") as answer:
            body = await answer.json(content_type=None)
            assert answer.status == 405, body
            assert answer.headers["Allow"] == "GET, HEAD"
            if api == "native":
                assert answer.headers["Content-Type"].startswith("application/problem+json")
                assert body["type"].endswith("/method-not-allowed")
            else:
                assert body["error"] == "invalid_request"
    events = await world.events()
    assert [(e["outcome"], e["api"], e["status"], e["upstream_calls"]) for e in events] == [
        ("invalid", api, 405, 0) for _, api in paths]
    assert events[0]["route"] == "/api/v1/points/{point_id}/datasets/{dataset}"
    status, _, _ = await world.series(token, "daily_consumption", *WEEK)  # GET still served
    assert status == 200


async def test_with_two_consents_on_a_dataset_any_one_that_allows_the_read_decides(
        world: World) -> None:
    """coach holds its curve consent (PT30M, from COACH_FROM), then the household gives it a
    later one capped at daily values and 30 days. An app-wide token may read what either
    allows, and the event names the one that did (found by review: the later one decided
    alone, and denied what the earlier one allows and the points listing advertised)."""
    later = await world.give_later("coach", max_resolution=Resolution.P1D, history_days=30)
    token = await world.token("coach")
    september = (date(2026, 9, 1), date(2026, 9, 2))
    status, body, _ = await world.series(token, "consumption_load_curve", *september,
                                         resolution="PT30M")
    assert (status, body.get("consent"), len(body.get("values", []))) == (
        200, world.consents["coach"], 48), body
    status, body, _ = await world.series(token, "consumption_load_curve", *september)
    assert (status, body["resolution"], body["consent"]) == (  # the earlier one's finest
        200, "PT30M", world.consents["coach"])
    yesterday = (T0.date() - timedelta(days=1), T0.date())
    status, body, _ = await world.series(token, "consumption_load_curve", *yesterday)
    assert (status, body["resolution"], body["consent"]) == (200, "P1D", later)
    status, body, _ = await world.series(token, "consumption_load_curve",
                                         MOVE_IN - timedelta(days=2), MOVE_IN)
    assert (status, body["rule"]) == (403, "R6 data window"), body  # the later one's denial
    events = await world.events()
    assert [e["consent_id"] for e in events[-4:]] == [
        world.consents["coach"], world.consents["coach"], later, later]
    assert [e["resolution"] for e in events[-4:]] == ["PT30M", "PT30M", "P1D", "P1D"]


@pytest.mark.parametrize(("text", "named", "expected"), [
    ("541449100000001236", (), None),  # be_ean or inhouse: ambiguous for an app-wide token
    ("541449100000001236", ("inhouse:541449100000001236",), "inhouse:541449100000001236"),
    ("22516914714270", (), None),  # a PRM or a PCE
    ("GI060511", (), "grdf:GI060511"),
    ("be_ean:541449100000001236", (), "be_ean:541449100000001236"),
])
def test_a_bare_identifier_is_resolved_only_when_certain(
        text: str, named: tuple[str, ...], expected: str | None) -> None:
    """A bare EAN was taken for ``be_ean``: an app-wide token's request for its in-house point
    was refused under "R6 consent active" for a point it never asked about."""
    token = VerifiedToken("t", "c", "r", "default", None, None, frozenset(),
                          tuple(PointRef.parse(p) for p in named), None,
                          datetime(2030, 1, 1, tzinfo=UTC))
    if expected is None:
        with pytest.raises(InvalidIdentifier, match="ambiguous"):
            resolve_point(text, token)
    else:
        assert str(resolve_point(text, token)) == expected

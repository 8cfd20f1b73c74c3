"""The Data Connect v5-compatible API: same wire as Enedis, same checks and evidence as native.

``test_an_unmodified_data_connect_client_completes_its_calls`` drives ``enedis-data-connect``
(PyPI, a v5 client speaking client credentials) with only its base URL pointed here.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from consent.models import Consent, UpstreamAuthorisation
from consent.vocabulary import Resolution
from proxy.compat.enedis.wire import customer_id, offset_date
from proxy.keys import web_secret_key
from tests.oauth.conftest import Browser, query_of
from tests.proxy.world import (
    COACH_FROM,
    COACH_UNTIL,
    MOVE_IN,
    PASSWORD,
    PRM,
    USERNAME,
    World,
    midnight,
)

DC = "/compat/enedis"
DAILY = DC + "/metering_data_dc/v5/daily_consumption"
CURVE = DC + "/metering_data_clc/v5/consumption_load_curve"
WEEK = (date(2026, 11, 1), date(2026, 11, 8))


async def dc(world: World, path: str, token: str | None, start: date | None = None,
             end: date | None = None, **extra: str) -> tuple[int, Any]:
    params = {"usage_point_id": PRM.identifier, **extra}
    if start is not None and end is not None:
        params |= {"start": start.isoformat(), "end": end.isoformat()}
    status, body, _ = await world.get(path, token, **params)
    return status, body


async def client_token(world: World, app: str) -> dict[str, Any]:
    client_id, secret = world.credentials[app]
    async with world.client.post(DC + "/oauth2/v3/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret}) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


def run_data_connect_client(base: str, client_id: str, secret: str) -> dict[str, Any]:
    """The PyPI client, configured only with our base URL, in a worker thread."""
    from enedis_data_connect import enedis_client as dc_client
    from enedis_data_connect.utils import Singleton

    dc_client.ENDPOINT_URL = base  # "change the base URL only"
    dc_client._ENDPOINT_TOKEN_URL = base + "/oauth2/v3/"
    Singleton._instances.clear()  # the library keeps one client per process
    client = dc_client.EnedisClient(PRM.identifier, None, client_id, secret)
    helper = dc_client.EnedisApiHelper(client)
    out = {
        "daily": helper.get_daily_consumption(*WEEK),
        "curve": helper.get_consumption_load_curve(date(2026, 11, 2), date(2026, 11, 3)),
        "token": dict(client.get_token_data()),
    }
    try:
        helper.get_max_daily_consumed_power(*WEEK)
    except dc_client.ApiRequestError as error:
        out["max_power_error"] = error
    client.close()
    return out


async def test_an_unmodified_data_connect_client_completes_its_calls(world: World) -> None:
    pytest.importorskip("enedis_data_connect")
    base = str(world.client.make_url(DC)).rstrip("/")
    client_id, secret = world.credentials["coach"]
    got = await asyncio.to_thread(run_data_connect_client, base, client_id, secret)
    assert sorted(got["daily"]) == [WEEK[0] + timedelta(days=i) for i in range(7)]
    assert all(isinstance(v, int) and v > 0 for v in got["daily"].values())
    assert len(got["curve"]) == 48  # the coach consent releases PT30M
    assert min(got["curve"]) == datetime(2026, 11, 2, 0, 30)  # end of the first interval
    assert got["token"]["token_type"] == "Bearer"
    assert isinstance(got["token"]["expires_in"], str)
    assert "max_power_error" in got  # the coach consent does not cover max power
    events = await world.events()
    assert [e["outcome"] for e in events][:2] == ["served", "served"]
    assert events[0]["api"] == "compat/enedis"
    assert {e["rule"] for e in events if e["outcome"] == "denied"} == {"R6 dataset"}


async def test_values_are_strings_and_end_is_excluded(world: World) -> None:
    token = (await client_token(world, "dash"))["access_token"]
    status, body = await dc(world, DAILY, token, *WEEK)
    assert status == 200, body
    reading = body["meter_reading"]
    assert (reading["usage_point_id"], reading["start"], reading["end"]) == (
        PRM.identifier, "2026-11-01", "2026-11-08")
    assert reading["reading_type"] == {"measurement_kind": "energy", "measuring_period": "P1D",
                                       "unit": "Wh", "aggregate": "sum"}
    days = [p["date"] for p in reading["interval_reading"]]
    assert days[0] == "2026-11-01"
    assert days[-1] == "2026-11-07"
    assert all(isinstance(p["value"], str) and p["value"].isdigit()
               for p in reading["interval_reading"])


async def test_load_curve_points_mark_the_end_of_their_interval(world: World) -> None:
    token = await world.token("coach")
    status, body = await dc(world, CURVE, token, date(2026, 10, 25), date(2026, 10, 26))
    assert status == 200, body
    points = body["meter_reading"]["interval_reading"]
    assert len(points) == 50  # the day clocks go back has 25 hours
    assert points[0] == {"value": points[0]["value"], "date": "2026-10-25 00:30:00",
                         "interval_length": "PT30M", "measure_type": "B"}
    assert points[-1]["date"] == "2026-10-26 00:00:00"


@pytest.mark.parametrize(("params", "code", "status"), [
    ({"start": "2026-11-01", "end": "2026-11-08", "usage_point_id": ""}, "invalid_request", 400),
    ({"start": "2026-11-01", "end": "2026-11-08", "usage_point_id": "1234"},
     "invalid_request", 400),
    ({"start": "2026-11-8", "end": "2026-11-09"}, "invalid_request", 400),
    ({"start": "2026-11-08", "end": "2026-11-08"}, "invalid_request", 400),
    ({"start": "2026-11-20", "end": "2026-11-23"}, "invalid_request", 400),
    ({"start": "2022-01-01", "end": "2022-01-05"}, "ADAM-DC-0016", 400),
])
async def test_parameter_errors_as_data_connect_writes_them(world: World, params: dict[str, str],
                                                            code: str, status: int) -> None:
    token = await world.token("dash")
    got, body, _ = await world.get(DAILY, token, **{"usage_point_id": PRM.identifier, **params})
    assert (got, body["error"]) == (status, code)
    assert body["error_description"]


async def test_a_load_curve_covers_at_most_seven_days(world: World) -> None:
    token = await world.token("coach")
    status, body = await dc(world, CURVE, token, WEEK[0], WEEK[1] + timedelta(days=1))
    assert (status, body["error"]) == (400, "ADAM-DC-0015")
    status, _ = await dc(world, CURVE, token, *WEEK)
    assert status == 200


async def test_move_in_day_on_the_compatible_api(world: World) -> None:
    token = await world.token("dash")
    status, _ = await dc(world, DAILY, token, MOVE_IN, MOVE_IN + timedelta(days=1))
    assert status == 200
    # Before the move-in: Enedis's "period anterior to the meter's last activation date" (a
    # start to correct), not 0007 ("not the holder", on which clients drop the household).
    status, body = await dc(world, DAILY, token, MOVE_IN - timedelta(days=1), MOVE_IN)
    assert (status, body["error"], body["rule"]) == (400, "ADAM-ERR0123", "R8 occupancy")
    status, body = await dc(world, DAILY, token, MOVE_IN - timedelta(days=1),
                            MOVE_IN + timedelta(days=1))
    assert (status, body["error"]) == (400, "ADAM-ERR0123")
    assert body["allowed"]["window"]["start"].startswith(MOVE_IN.isoformat())


async def test_first_day_of_the_data_window_on_the_compatible_api(world: World) -> None:
    token = await world.token("coach")
    status, _ = await dc(world, DAILY, token, COACH_FROM, COACH_FROM + timedelta(days=1))
    assert status == 200
    status, body = await dc(world, DAILY, token, COACH_FROM - timedelta(days=1), COACH_FROM)
    assert (status, body["error"], body["rule"]) == (403, "ADAM-DC-0009", "R6 data window")


async def test_last_day_on_the_compatible_api(world: World) -> None:
    token = await world.token("dash")
    today = date(2026, 11, 22)
    status, body = await dc(world, DAILY, token, today - timedelta(days=1), today)
    assert status == 200
    assert body["meter_reading"]["interval_reading"][-1]["date"] == "2026-11-21"


async def test_expiry_instant_on_the_compatible_api(world: World) -> None:
    token = await world.token("coach")
    world.clock.set(COACH_UNTIL - timedelta(microseconds=1))
    assert (await dc(world, DAILY, token, *WEEK))[0] == 200
    world.clock.set(COACH_UNTIL)
    status, body = await dc(world, DAILY, token, *WEEK)
    assert (status, body["error"], body["rule"]) == (403, "ADAM-DC-0008", "R6 consent active")


async def test_withdrawal_between_two_requests_on_the_compatible_api(world: World) -> None:
    token = (await client_token(world, "dash"))["access_token"]
    assert (await dc(world, DAILY, token, *WEEK))[0] == 200
    await world.withdraw("dash")
    status, body = await dc(world, DAILY, token, *WEEK)
    assert (status, body["error"]) == (403, "ADAM-DC-0008")


async def test_a_daily_only_consent_never_gets_the_curve(world: World) -> None:
    token = await world.token("dash")
    status, body = await dc(world, CURVE, token, *WEEK)
    assert (status, body["error"], body["rule"]) == (403, "unauthorized_user", "R6 resolution")
    assert (await world.events())[-1]["upstream_calls"] <= 1  # at most the point's description


async def test_customer_records_in_data_connect_shape(world: World) -> None:
    token = await world.token("dash")
    status, body, _ = await world.get(DC + "/customers_upc/v5/usage_points/contracts", token,
                                      usage_point_id=PRM.identifier)
    assert status == 200, body
    (usage,) = body["customer"]["usage_points"]
    assert usage["usage_point"]["usage_point_id"] == PRM.identifier
    assert set(usage["contracts"]) <= {"segment", "subscribed_power", "last_activation_date",
                                       "distribution_tariff", "offpeak_hours", "contract_status"}
    assert usage["contracts"]["last_activation_date"] == MOVE_IN.isoformat() + "+01:00"  # §1.5
    status, body, _ = await world.get(DC + "/customers_i/v5/identity", token,
                                      usage_point_id=PRM.identifier)
    assert body["customer"]["identity"] == {"natural_person": {
        "title": "Mme", "firstname": "Ana", "lastname": "Martin"}}
    # The id names this app's view of this occupant: the next household gets another one;
    # keyed by the server, so an app cannot test move-in dates against it.
    key = world.client.app[web_secret_key]
    assert body["customer"]["customer_id"] == customer_id(key, world.apps["dash"],
                                                          PRM.identifier, midnight(MOVE_IN))
    assert len({body["customer"]["customer_id"],
                customer_id(key, world.apps["dash"], PRM.identifier, midnight(date(2018, 1, 1))),
                customer_id(key, world.apps["coach"], PRM.identifier, midnight(MOVE_IN)),
                customer_id(b"another key", world.apps["dash"], PRM.identifier,
                            midnight(MOVE_IN))}) == 4
    assert offset_date("2013-08-14") == "2013-08-14+01:00"  # §1.5's own summer example
    status, body, _ = await world.get(DC + "/customers_cd/v5/contact_data", token,
                                      usage_point_id=PRM.identifier)
    assert (status, body["error"]) == (403, "unauthorized_user")


async def test_no_token_and_upstream_failure(world: World) -> None:
    status, body = await dc(world, DAILY, None, *WEEK)
    assert (status, body["error"]) == (401, "invalid_token")
    token = await world.token("dash")
    await dc(world, DAILY, token, *WEEK)
    from adapters.simulator import FaultKind

    world.simulator.faults.next(FaultKind.UNAVAILABLE)
    status, body = await dc(world, DAILY, token, WEEK[1], WEEK[1] + timedelta(days=1))
    assert (status, body) == (503, {"error": "technical_error",
                                    "error_description": "Technical error. Please try later."})


async def test_token_endpoint_is_client_credentials_only(world: World) -> None:
    client_id, secret = world.credentials["dash"]
    async with world.client.post(DC + "/oauth2/v3/token", data={
            "grant_type": "authorization_code", "code": "x", "client_id": client_id,
            "client_secret": secret}) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "unsupported_grant_type"
    async with world.client.post(DC + "/oauth2/v3/token?redirect_uri=http://localhost", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": "wrong"}) as response:
        # Data Connect's 400 (reference §1.3), no challenge: the secret came in the form
        assert response.status == 400
        assert "WWW-Authenticate" not in response.headers
        assert (await response.json())["error"] == "invalid_client"
    async with world.client.post(DC + "/oauth2/v3/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": aiohttp.encode_basic_auth(
                                     client_id, "wrong")}) as response:
        assert response.status == 401  # RFC 6749 §5.2: the Authorization header was used
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    async with world.client.post(DC + "/oauth2/v3/token", json={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret}) as response:
        assert response.status == 415
        assert (await response.json())["error"] == "invalid_request"
    for method in ("GET", "PUT"):
        async with world.client.request(method, DC + "/oauth2/v3/token") as response:
            assert (response.status, response.headers["Allow"]) == (405, "POST")
            assert (await response.json())["error"] == "invalid_request"
    body = await client_token(world, "dash")
    assert body["expires_in"] == "12600"


# --- the consent page ------------------------------------------------------------------------

AUTHORIZE = DC + "/dataconnect/v1/oauth2/authorize"


@pytest.mark.parametrize(("duration", "error"), [
    ("P4Y", "maximum_duration_exceeded"), ("P1097D", "maximum_duration_exceeded"),
    ("P3Y1D", "maximum_duration_exceeded"), ("P36M1D", "maximum_duration_exceeded"),
    ("P99999999D", "maximum_duration_exceeded"),
    ("3 years", "invalid_duration_format"), ("PT5H", "invalid_duration_format"),
    ("P0D", "invalid_duration_format"), ("P0Y0M0D", "invalid_duration_format"),
    ("p3y", "invalid_duration_format"), ("-P1D", "invalid_duration_format"),
    ("P\u0663Y", "invalid_duration_format"),  # an Arabic-Indic 3: not ISO 8601
])
async def test_consent_page_checks_duration(world: World, duration: str, error: str) -> None:
    client_id, _ = world.credentials["dash"]
    status, body, _ = await world.get(AUTHORIZE, None, client_id=client_id,
                                      response_type="code", state="abc", duration=duration)
    assert (status, body["error_description"]) == (400, error)


@pytest.mark.parametrize("repeated", ["duration=P1Y&duration=P9Y", "state=a&state=b",
                                      "client_id={client}&client_id=other"])
async def test_consent_page_refuses_a_parameter_given_twice(world: World,
                                                            repeated: str) -> None:
    client_id, _ = world.credentials["dash"]
    query = f"response_type=code&client_id={client_id}&state=s&duration=P1Y"
    for name in ("duration", "state", "client_id"):
        if repeated.startswith(name):
            query = "&".join(p for p in query.split("&") if not p.startswith(name + "="))
    async with world.client.get(f"{AUTHORIZE}?{query}&{repeated.format(client=client_id)}",
                                allow_redirects=False) as response:
        assert response.status == 400
        assert (await response.json())["error_description"] == "duplicate_parameter"


def test_durations_are_laid_on_the_calendar() -> None:
    """Years and months to the same day (the month's last if shorter), so P3Y and P36M last
    as long, three calendar years at most (1,096 days across a 29 February)."""
    from consent.durations import parse_data_connect as parse_duration
    from proxy.compat.enedis.oauth import max_duration_days

    today = date(2026, 11, 22)
    assert parse_duration("P3Y", today) == parse_duration("P36M", today) == 1096
    assert parse_duration("P1Y", today) == parse_duration("P12M", today) == 365
    assert parse_duration("P1Y4M", today) == 365 + 30 + 31 + 31 + 29  # 2028 is a leap year
    assert parse_duration("P1M", date(2027, 1, 31)) == 28  # to 28 February
    assert parse_duration("P2W3D", today) == 17
    assert max_duration_days(today) == 1096
    assert max_duration_days(date(2028, 3, 1)) == 1095  # no 29 February until 2032


async def test_consent_page_redirects_with_code_state_and_usage_point(world: World) -> None:
    from tests.oauth.conftest import Browser, query_of

    client_id, _ = world.credentials["coach"]
    browser = Browser(str(world.client.make_url("")).rstrip("/"))
    try:
        response, _ = await browser.get(f"{AUTHORIZE}?client_id={client_id}&response_type=code"
                                        "&state=abcd123&duration=P1Y4M")
        assert response.status == 303
        login = response.headers["Location"]
        assert login.startswith("/oauth2/authorize?")
        decided = await decide(browser, login, "approve")
        assert decided.status == 303
        back, _ = await browser.get(decided.headers["Location"])
        assert back.status == 303
        target = back.headers["Location"]
        assert target.startswith("https://coach.example/cb?")
        params = query_of(target)
        assert params["state"] == "abcd123"
        assert params["usage_point_id"] == PRM.identifier
        assert params["code"]
        # a refusal answers as Data Connect does: code=403, no state
        response, _ = await browser.get(f"{AUTHORIZE}?client_id={client_id}&response_type=code"
                                        "&state=zz&duration=P30D")
        refused = await decide(browser, response.headers["Location"], "refuse")
        back, _ = await browser.get(refused.headers["Location"])
        assert query_of(back.headers["Location"]) == {
            "code": "403", "error": "access_denied",
            "error_description": "authorization_request_refused"}
    finally:
        await browser.close()


async def decide(browser: Any, authorize_url: str, decision: str) -> aiohttp.ClientResponse:
    action, fields = await _consent_form(browser, authorize_url)
    response, _ = await browser.post(action.replace("&amp;", "&"),
                                     [*fields, ("decision", decision)])
    return response  # type: ignore[no-any-return]


async def _consent_form(browser: Any, url: str) -> tuple[str, list[tuple[str, str]]]:
    from urllib.parse import parse_qs, urlsplit

    from tests.oauth.conftest import forms_of

    response, html = await browser.get(url)
    if response.status == 303 and response.headers["Location"].startswith("/login"):
        next_path = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
        login = await browser.login(USERNAME, PASSWORD, next_path)
        assert login.status == 303
        response, html = await browser.get(login.headers["Location"])
    assert response.status == 200, html
    form = next(f for f in forms_of(html) if ("decision", "approve") in f["buttons"])
    return form["action"], form["fields"]


def test_our_own_outage_keeps_its_status_and_retry_after() -> None:
    """A database outage is a 503 with ``Retry-After`` on this API as on the native one, in
    Data Connect's words; only an error that is ours and unexpected stays a 500."""
    from aiohttp.test_utils import make_mocked_request

    from consent.errors import PasserelleError
    from consent.storage.database import DatabaseUnavailable
    from proxy.compat.enedis.errors import render

    request = make_mocked_request("GET", DAILY)
    rendered = render(DatabaseUnavailable("The database is unavailable."), request)
    assert rendered.status == 503
    assert rendered.headers == {"Retry-After": "2"}
    assert json.loads(rendered.body) == {"error": "technical_error",
                                         "error_description": "Technical error. Please try later."}
    assert render(PasserelleError("unexpected"), request).status == 500


async def test_data_connect_scope_names_get_a_token(world: World) -> None:
    """An unmodified client sends Data Connect's scope names (reference §1.3): they are
    ignored, as Enedis does (access is by subscription), so the token covers the application's
    own datasets, the contract among them though no such name exists; Passerelle's own dataset
    names still narrow the token."""
    client_id, secret = world.credentials["dash"]

    async def scope_of(scope: str) -> tuple[int, str]:
        async with world.client.post(DC + "/oauth2/v3/token", data={
                "grant_type": "client_credentials", "client_id": client_id,
                "client_secret": secret, "scope": scope}) as answer:
            body = await answer.json()
            return answer.status, body.get("scope", body.get("error"))

    status, own = await scope_of("")
    assert status == 200
    assert "contract" in own.split()
    status, granted = await scope_of("fr_be_cons_detail_load_curve fr_be_cons_daily_consumption "
                                     "fr_be_cons_max_power fr_be_prod_daily_production "
                                     "fr_be_identity fr_be_address fr_be_contact")
    assert (status, set(granted.split())) == (200, set(own.split()))
    status, granted = await scope_of("fr_be_something_new /v3/metering_data/daily.GET")
    assert status == 200
    assert "daily_consumption" in granted.split()  # the application's own scope
    status, granted = await scope_of("daily_consumption fr_be_unknown")
    assert (status, granted) == (200, "daily_consumption")


# --- found by the thirteenth session's review -------------------------------------------------

async def _consent_through_data_connect_page(world: World, app: str, duration: str) -> None:
    client_id, _ = world.credentials[app]
    browser = Browser(str(world.client.make_url("")).rstrip("/"))
    try:
        response, _ = await browser.get(f"{AUTHORIZE}?client_id={client_id}&response_type=code"
                                        f"&state=s1&duration={duration}")
        decided = await decide(browser, response.headers["Location"], "approve")
        back, _ = await browser.get(decided.headers["Location"])
        assert query_of(back.headers["Location"])["usage_point_id"] == PRM.identifier
    finally:
        await browser.close()


async def test_data_connect_consent_releases_data_connect_history(world: World) -> None:
    """A consent given on /dataconnect/v1/oauth2/authorize must let the app read what Data
    Connect serves: daily values 36 months (+15 days) back (reference §1.4). Here: ~20 months
    back, after the household's move-in and inside the upstream authorisation."""
    await world.withdraw("dash")  # only the consent given through the Data Connect page counts
    await _consent_through_data_connect_page(world, "dash", "P3Y")
    token = (await client_token(world, "dash"))["access_token"]
    status, body, _ = await world.get(DAILY, token, usage_point_id=PRM.identifier,
                                      start="2025-04-01", end="2025-04-08")
    assert status == 200, body


#: The scope list an unofficial Data Connect client sends (reference §1.3, idx:349584223).
UNOFFICIAL_SCOPE = ("fr_be_cons_detail_load_curve fr_be_cons_daily_consumption "
                    "fr_be_cons_max_power fr_be_prod_daily_production fr_be_identity "
                    "fr_be_address fr_be_contact")


async def test_unofficial_scope_list_does_not_narrow_away_the_contract(world: World) -> None:
    """Enedis does not honour these scope names (reference §1.3): an app that sends them still
    reads every API it subscribed to, the contract among them. Here the household's consent
    covers the contract, yet the token the list yields does not."""
    client_id, secret = world.credentials["dash"]
    async with world.client.post("/compat/enedis/oauth2/v3/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "scope": UNOFFICIAL_SCOPE}) as answer:
        assert answer.status == 200
        token = (await answer.json())["access_token"]
    status, body, _ = await world.get("/compat/enedis/customers_upc/v5/usage_points/contracts",
                                      token, usage_point_id=PRM.identifier)
    assert status == 200, body


async def test_token_lives_as_long_as_a_data_connect_token(world: World) -> None:
    """Data Connect v5 tokens last 12600 s (reference §1.3) and clients cache them for a fixed
    3 h (Conso API's KV TTL) or 3 h 30: one an hour old must still work."""
    body = await client_token(world, "dash")
    world.clock.set(world.clock.now() + timedelta(hours=1))
    status, answer, _ = await world.get(DAILY, body["access_token"],
                                        usage_point_id=PRM.identifier,
                                        start="2026-11-01", end="2026-11-08")
    assert (body["expires_in"], status) == ("12600", 200), answer


async def test_a_slow_household_approval_still_reaches_the_app(world: World) -> None:
    """The household approves 16 minutes after opening the consent page: the consent is granted
    (active), so the app must be sent back with code/usage_point_id (or, at the very least, an
    error redirect); today the browser stops on a JSON 400 and the app never learns of it."""
    client_id, _ = world.credentials["coach"]
    browser = Browser(str(world.client.make_url("")).rstrip("/"))
    try:
        response, _ = await browser.get(f"{AUTHORIZE}?client_id={client_id}&response_type=code"
                                        "&state=slow&duration=P1Y")
        world.clock.set(world.clock.now() + timedelta(minutes=16))
        decided = await decide(browser, response.headers["Location"], "approve")
        back, text = await browser.get(decided.headers["Location"])
        async with world.db.engine.connect() as conn:
            active = (await conn.execute(sa.select(sa.func.count()).select_from(Consent).where(
                Consent.recipient_id == world.apps["coach"], Consent.state == "active"))).scalar()
        assert back.status == 303, (back.status, text, f"active consents of coach: {active}")
        assert back.headers["Location"].startswith("https://coach.example/cb?")
    finally:
        await browser.close()


async def test_a_window_before_the_upstream_authorisation_is_not_no_consent(world: World) -> None:
    """The household's upstream authorisation (its Data Connect consent to the operator) starts
    on 2025-06-01 and is in force now. A window reaching before it is Enedis's ADAM-DC-0009
    ("start date ... greater than the consent start date"), not ADAM-DC-0008 ("no consent can
    be found"), which tells the client the consent is gone."""
    async with world.db.session() as session:
        await session.exec(sa.update(UpstreamAuthorisation)  # type: ignore[call-overload]
                           .values(valid_from=midnight(date(2025, 6, 1))))
    token = (await client_token(world, "dash"))["access_token"]
    status, body, _ = await world.get(DAILY, token, usage_point_id=PRM.identifier,
                                      start="2025-05-25", end="2025-06-02")
    assert (status, body["error"], body["rule"]) == (
        403, "ADAM-DC-0009", "upstream authorisation"), body


async def test_a_later_daily_only_consent_does_not_hide_the_curve_an_earlier_one_releases(
        world: World) -> None:
    """The load curve is served at the meter's step or not at all: with coach's curve consent
    and a later one capped at daily values, the step is judged under each (found by review:
    only under the later one, which refused it as unauthorized_user)."""
    later = await world.give_later("coach", max_resolution=Resolution.P1D, history_days=30)
    token = await world.token("coach")
    status, body = await dc(world, CURVE, token, date(2026, 11, 20), date(2026, 11, 21))
    assert status == 200, body
    assert len(body["meter_reading"]["interval_reading"]) == 24  # the meter's hourly step
    event = (await world.events())[-1]
    assert (event["consent_id"], event["resolution"]) == (world.consents["coach"], "PT1H")
    assert event["consent_id"] != later


@pytest.mark.parametrize(("method", "path", "status", "allow"), [
    ("GET", DC + "/metering_data_dc/v5/daily_consumptio", 404, None),  # a typo
    ("GET", DC + "/metering_data_dc/v4/daily_consumption", 404, None),  # another version
    ("DELETE", DC + "/nothing/here", 404, None),
    ("GET", DC, 404, None),
    ("POST", AUTHORIZE, 405, "GET, HEAD"),  # a path of ours, another method
    ("PUT", DC + "/dataconnect/v1/oauth2/callback", 405, "GET, HEAD"),
])
async def test_unknown_paths_and_methods_answer_as_data_connect(
        world: World, method: str, path: str, status: int, allow: str | None) -> None:
    """A Data Connect client reads ``{error, error_description}`` on every failure (reference
    §1.6), never problem+json, whatever the path below /compat/enedis."""
    token = (await client_token(world, "dash"))["access_token"]
    async with world.client.request(method, path, params={"usage_point_id": PRM.identifier},
                                    headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == status
        assert response.content_type == "application/json"
        assert response.headers.get("Allow") == allow
        body = await response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == "invalid_request"
    # Outside /compat/enedis, unknown paths stay problem+json.
    async with world.client.get("/api/v1/nothing") as response:
        assert (response.status, response.content_type) == (404, "application/problem+json")
    async with world.client.get(DC + "x/metering_data_dc/v5/daily_consumption") as response:
        assert (response.status, response.content_type) == (404, "application/problem+json")

"""Enedis upstream consent: v2 authorize page, callback, subscribed services, re-checks."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.enedis import Generation
from adapters.enedis.consent import authorize_url, parse_callback
from adapters.errors import UpstreamDenied, UpstreamError, UpstreamUnavailable
from consent.errors import DomainError, InvalidPeriod
from consent.identifiers import PointRef, Source
from consent.upstream import UpstreamState
from tests.adapters.support import EnedisWorld, enedis_world
from tests.contract.harnesses import LONG, MOVED

STATE = "s" * 40


def test_authorize_url_v2_carries_exactly_the_documented_parameters() -> None:
    url = authorize_url("https://mon-compte-particulier.enedis.fr", "app", STATE + "1",
                        timedelta(days=1095))
    parts = urlsplit(url)
    assert parts.path == "/dataconnect/v2/oauth2/authorize"
    assert parse_qs(parts.query) == {"client_id": ["app"], "response_type": ["code"],
                                     "state": [STATE + "1"], "duration": ["P1095D"]}


@pytest.mark.parametrize("duration", [timedelta(days=1096), timedelta(0),
                                      timedelta(days=2, hours=3)])
def test_consent_lasts_whole_days_up_to_three_years(duration: timedelta) -> None:
    with pytest.raises(InvalidPeriod):
        authorize_url("https://x.example", "app", STATE, duration)


def test_state_is_at_most_100_characters() -> None:
    with pytest.raises(DomainError):
        authorize_url("https://x.example", "app", "s" * 101, timedelta(days=10))


async def _consent(world: EnedisWorld, state: str) -> dict[str, str]:
    url, _ = world.adapter.consent_url(state)
    async with world.session.get(url, allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith(world.state.config.redirect_uri)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def test_callback_resolves_points_and_services() -> None:
    async with enedis_world() as world:
        query = await _consent(world, STATE + "1")  # sandbox customer 1: MOVED's PRM
        assert set(query) == {"autorisation_id", "state"}
        found = await world.adapter.complete_consent(query, STATE + "1")
        assert [a.point for a in found] == [MOVED]
        (auth,) = found
        assert auth.state is UpstreamState.ACTIVE
        assert auth.upstream_state == "ACTIF"
        assert auth.upstream_id == query["autorisation_id"]
        assert auth.validity is not None
        assert auth.validity.end is not None
        assert (auth.validity.end - auth.validity.start).days == 1095
        known = await world.adapter.directory.lookup(MOVED)
        assert known is not None
        assert known.upstream_id == query["autorisation_id"]
        assert (await world.adapter.authorisation(MOVED)).state is UpstreamState.ACTIVE


async def test_a_refused_consent_is_denied() -> None:
    async with enedis_world() as world:
        query = await _consent(world, STATE + "9")  # customer 9 always refuses
        assert "state" not in query  # error redirects carry no state
        with pytest.raises(UpstreamDenied):
            await world.adapter.complete_consent(query, STATE + "9")


async def test_a_callback_for_someone_else_is_refused() -> None:
    async with enedis_world() as world:
        query = await _consent(world, STATE + "0")
        with pytest.raises(DomainError):
            await world.adapter.complete_consent(query, STATE + "X")


async def test_recheck_follows_revocation_and_expiry() -> None:
    async with enedis_world() as world:
        query = await _consent(world, STATE + "8")  # customer 8 revokes at once
        (auth,) = await world.adapter.complete_consent(query, STATE + "8")
        assert auth.state is UpstreamState.REVOKED
        assert auth.upstream_state == "SUPPRIME"
        given = world.state.grant((LONG.identifier,), date(2024, 1, 1), 700)
        (ended,) = await world.adapter.recheck(str(given.autorisation_id))
        assert ended.state is UpstreamState.ENDED  # its 700 days ran out in Dec. 2025
        assert ended.upstream_state == "TERMINE"


@pytest.mark.parametrize(("first_page", "calls"), [(1, 5), (0, 4)])
async def test_services_are_read_over_every_page_and_every_state(first_page: int,
                                                                 calls: int) -> None:
    async with enedis_world(fake={"page_size": 2, "first_page": first_page}) as world:
        given = world.state.grant((LONG.identifier,), date(2025, 1, 1), 1095)  # 8 services
        exchanges = world.adapter.transport.exchanges
        (auth,) = await world.adapter.recheck(str(given.autorisation_id))
        assert auth.state is UpstreamState.ACTIVE
        assert world.adapter.transport.exchanges - exchanges == calls  # 1-based: page 1 twice
        world.state.revoke(given.autorisation_id)  # SUPPRIME is hidden by the default filter
        (revoked,) = await world.adapter.recheck(str(given.autorisation_id))
        assert revoked.state is UpstreamState.REVOKED


@pytest.mark.parametrize("separator", [",", ";"])
def test_v1_callbacks_may_name_several_points(separator: str) -> None:
    callback = parse_callback({"code": "x", "state": STATE,
                               "usage_point_id": f"{LONG.identifier}{separator}"
                                                 f"{MOVED.identifier}"}, STATE)
    assert callback.points == (LONG, MOVED)
    assert callback.autorisation_id is None


async def test_v5_consent_flow_records_a_validity() -> None:
    async with enedis_world(Generation.V5) as world:
        query = await _consent(world, STATE + "3")  # customer 3: two PRMs
        assert query["usage_point_id"].count(";") == 1
        found = await world.adapter.complete_consent(query, STATE + "3",
                                                     duration=timedelta(days=365))
        assert {a.point for a in found} == {PointRef(Source.ENEDIS, "12345678901234"),
                                            PointRef(Source.ENEDIS, "10284856584123")}
        assert all(a.validity is not None and a.validity.end is not None and
                   (a.validity.end - a.validity.start).days == 365 for a in found)


@pytest.mark.parametrize(("error", "expected"), [
    ("server_error", UpstreamUnavailable), ("invalid_request", UpstreamError)])
def test_consent_page_errors(error: str, expected: type[UpstreamError]) -> None:
    with pytest.raises(expected):
        parse_callback({"error": error, "error_description": "x"}, STATE)


async def test_the_consent_page_rejects_durations_beyond_three_years() -> None:
    async with enedis_world() as world:
        for duration, description in (("P37M", "maximum_duration_exceeded"),
                                      ("PT5H", "lincs-internal-server-error")):
            url = (f"{world.url}/dataconnect/v2/oauth2/authorize?client_id=passerelle&"
                   f"response_type=code&state=abc1&duration={duration}")
            async with world.session.get(url, allow_redirects=False) as response:
                query = parse_qs(urlsplit(response.headers["Location"]).query)
            assert query["error_description"] == [description]

"""``passerelle simulator --dso enedis|grdf`` serves the simulator through a DSO's fake."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import aiohttp
import pytest

from adapters.fakes.common import serve
from adapters.inhouse.runner import _app
from adapters.simulator import Simulator
from proxy.cli import build_parser


@pytest.mark.parametrize(("dso", "token_path"), [
    ("enedis", "/oauth2/v3/token"), ("grdf", "/oauth2/aus5y2ta2uEHjCWIR417/v1/token")])
async def test_the_simulator_command_can_speak_a_dso_wire_format(dso: str,
                                                                 token_path: str) -> None:
    args = build_parser().parse_args(["simulator", "--dso", dso, "--data-dir", "/tmp/x"])
    assert args.dso == dso
    form = {"grant_type": "client_credentials", "client_id": "demo", "client_secret": "pw",
            "scope": "/adict/v2"}
    async with serve(_app(dso, Simulator(), "demo", "pw", None)) as url, \
            aiohttp.ClientSession() as session, \
            session.post(url + token_path, data=form) as response:
        assert response.status == 200
        assert (await response.json())["token_type"] == "Bearer"


async def test_the_simulator_command_serves_the_demo_households_as_seeded() -> None:
    """``simulator --demo`` (the topology's simulator when the replicas seed the demo): every
    demo point has the plan's occupants, move-in days included, so consents seeded by
    ``serve --demo`` are not denied by R8 for a mismatch between the DSO and the seed."""
    from adapters.simulator.demo import demo_profiles
    from consent.demo import DEMO_PLAN
    from consent.models import DEFAULT_TIMEZONES

    args = build_parser().parse_args(["simulator", "--demo", "--data-dir", "/tmp/x"])
    assert args.demo is True
    assert build_parser().parse_args(["simulator", "--data-dir", "/tmp/x"]).demo is False
    demo, derived = Simulator(profiles=demo_profiles(DEMO_PLAN)), Simulator()
    for point in DEMO_PLAN.points:
        served = demo.profile(point.ref)
        zone = ZoneInfo(DEFAULT_TIMEZONES[point.source])
        assert [o.move_in for o in served.occupants] == [
            o.starts_at.astimezone(zone).date() for o in point.occupancies]
        assert served != derived.profile(point.ref)  # not what an unseeded simulator invents

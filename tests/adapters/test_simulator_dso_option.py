"""``passerelle simulator --dso enedis|grdf`` serves the simulator through a DSO's fake."""

from __future__ import annotations

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

"""The in-house DSO server's own contract: auth, problem+json, windows, admin, and the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from adapters.base import HealthState
from adapters.errors import UnknownPoint, UpstreamCredentialsRejected, UpstreamUnavailable
from adapters.inhouse.client import InhouseClient
from adapters.simulator import Simulator
from consent.identifiers import Source
from consent.upstream import UpstreamState
from proxy.cli import build_parser
from tests.contract.conftest import EAN, LONG
from tests.contract.servers import ADMIN_TOKEN, CLIENT_ID, CLIENT_SECRET, serve

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def bearer(http: aiohttp.ClientSession, base_url: str) -> dict[str, str]:
    async with http.post(base_url + "/oauth/token",
                         data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                               "client_secret": CLIENT_SECRET}) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.json()
    assert body["token_type"] == "Bearer"
    return {"Authorization": "Bearer " + body["access_token"]}


@pytest.mark.parametrize(("form", "status", "error"), [
    ({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong"},
     401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
     401, "invalid_client"),
    ({"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
     400, "unsupported_grant_type"),
])
async def test_token_endpoint_refuses(http: aiohttp.ClientSession, base_url: str,
                                      form: dict[str, str], status: int, error: str) -> None:
    async with http.post(base_url + "/oauth/token", data=form) as response:
        assert response.status == status
        body = await response.json()
    assert body["error"] == error
    assert CLIENT_SECRET not in str(body)


async def test_api_needs_a_valid_token(http: aiohttp.ClientSession, base_url: str,
                                       simulator: Simulator) -> None:
    url = f"{base_url}/api/v1/points/{LONG}"
    async with http.get(url) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.content_type == "application/problem+json"
    headers = await bearer(http, base_url)
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
    simulator.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    async with http.get(url, headers=headers) as response:
        assert response.status == 401


async def test_client_renews_an_expired_token(http: aiohttp.ClientSession, base_url: str,
                                              simulator: Simulator) -> None:
    client = InhouseClient(http, base_url, CLIENT_ID, CLIENT_SECRET, clock=simulator.clock)
    await client.describe(LONG)
    simulator.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    assert (await client.describe(LONG)).point == LONG


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/series/daily_consumption?start=2027-01-01T00:00:00%2B01:00"
     "&end=2027-01-03T00:00:00%2B01:00&resolution=P1D", 400, "not-yet-available"),
    ("/series/consumption_load_curve?start=2026-01-01T00:00:00%2B01:00"
     "&end=2026-03-01T00:00:00%2B01:00&resolution=PT30M", 400, "window-too-long"),
    ("/series/daily_consumption?start=yesterday&end=2026-03-01T00:00:00Z&resolution=P1D",
     400, "invalid-period"),
    ("/series/daily_consumption?start=2026-01-01T00:00:00&end=2026-03-01T00:00:00Z"
     "&resolution=P1D", 400, "invalid-period"),
    ("/series/heat_pump?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&resolution=P1D",
     400, "unknown-vocabulary"),
    ("/records/load_curve", 400, "unknown-vocabulary"),
    ("/port/requests/nope", 404, "not-found"),
])
async def test_errors_are_problems_with_stable_codes(http: aiohttp.ClientSession, base_url: str,
                                                     path: str, status: int, code: str) -> None:
    headers = await bearer(http, base_url)
    async with http.get(f"{base_url}/api/v1/points/{LONG}{path}", headers=headers) as response:
        body = await response.json(content_type=None)
        assert response.content_type == "application/problem+json"
    assert (response.status, body["code"]) == (status, code)
    assert body["type"].endswith(code) or body["type"] == "about:blank"


async def test_period_errors_name_what_is_available(http: aiohttp.ClientSession,
                                                    base_url: str) -> None:
    headers = await bearer(http, base_url)
    query = "start=2019-01-01T00:00:00Z&end=2019-01-02T00:00:00Z&resolution=P1D"
    url = f"{base_url}/api/v1/points/{LONG}/series/daily_consumption?{query}"
    async with http.get(url, headers=headers) as response:
        body = await response.json(content_type=None)
    assert body["code"] == "beyond-history"
    assert body["available"]["end"] == "2026-10-15T00:00:00+02:00"


async def test_a_dso_serves_only_its_own_sources(http: aiohttp.ClientSession,
                                                 simulator: Simulator) -> None:
    async for url in serve(simulator, sources=frozenset({Source.INHOUSE})):
        client = InhouseClient(http, url, CLIENT_ID, CLIENT_SECRET, clock=simulator.clock)
        assert (await client.describe(EAN)).point == EAN
        with pytest.raises(UnknownPoint):
            await client.describe(LONG)
        assert (await client.capabilities()).sources == {Source.INHOUSE}


async def test_admin_controls_faults_and_authorisations(http: aiohttp.ClientSession,
                                                        base_url: str) -> None:
    admin = {"Authorization": "Bearer " + ADMIN_TOKEN}
    async with http.post(base_url + "/admin/faults", json={"kind": "rate_limited"}) as response:
        assert response.status == 401
    async with http.post(base_url + "/admin/faults", headers=admin,
                         json={"kind": "rate_limited", "count": 1, "retry_after": 9}) as response:
        assert response.status == 201
    async with http.post(base_url + "/admin/faults", headers=admin,
                         json={"kind": "gremlins"}) as response:
        assert response.status == 400
    headers = await bearer(http, base_url)
    async with http.get(f"{base_url}/api/v1/points/{LONG}", headers=headers) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "9"
    async with http.put(f"{base_url}/admin/points/{LONG}/authorisation", headers=admin,
                        json={"state": "revoked"}) as response:
        assert (await response.json())["state"] == UpstreamState.REVOKED
    async with http.delete(base_url + "/admin/faults", headers=admin) as response:
        assert (await response.json())["queued"] == []


async def test_admin_is_off_without_a_token(http: aiohttp.ClientSession,
                                            simulator: Simulator) -> None:
    async for url in serve(simulator, admin_token=None):
        async with http.get(url + "/admin/faults") as response:
            assert response.status == 404


async def test_wrong_credentials_and_dead_upstream(http: aiohttp.ClientSession, base_url: str,
                                                   simulator: Simulator) -> None:
    wrong = InhouseClient(http, base_url, CLIENT_ID, "not-the-secret", clock=simulator.clock)
    with pytest.raises(UpstreamCredentialsRejected) as caught:
        await wrong.describe(LONG)
    assert "not-the-secret" not in caught.value.detail
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead = InhouseClient(http, f"http://127.0.0.1:{dead_port}", CLIENT_ID, CLIENT_SECRET,
                         timeout=1.0)
    with pytest.raises(UpstreamUnavailable):
        await dead.describe(LONG)
    assert (await dead.health()).state is HealthState.DOWN


def test_cli_declares_the_simulator_command() -> None:
    args = build_parser().parse_args(["simulator", "--port", "9999", "--data-dir", "/tmp/x"])
    assert (args.command, args.port, args.host) == ("simulator", 9999, "127.0.0.1")


def test_passerelle_simulator_serves_http() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PASSERELLE_SIMULATOR_SECRET": "cli-secret", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "proxy", "simulator", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):  # bounded wait for the server to listen
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as response:
            assert response.status == 200
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0].decode()
    assert "cli-secret" not in output

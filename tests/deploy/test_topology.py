"""The local topology: two replicas behind the TLS edge, and the edge's header policy."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.topology import Topology, nginx_check, nginx_edge, run_script

#: Headers a client might forge to pose as another address, scheme or host.
FORGED = {
    "X-Forwarded-For": "6.6.6.6",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Host": "evil.example",
    "X-Real-IP": "6.6.6.6",
    "Forwarded": "for=6.6.6.6;proto=http",
    "X-Original-URL": "/admin",
    "X-Request-Id": "chosen-by-the-client",
}


def replica_of(request_id: str, topology: Topology) -> int:
    """Which replica's JSON log holds ``request_id`` (exactly one must). A replica writes its
    access line just after the response leaves, so wait a little for it."""
    deadline = time.monotonic() + 10
    while True:
        holders = [index for index, log in enumerate(topology.replica_logs)
                   if any(json.loads(line).get("request_id") == request_id
                          for line in log.read_text().splitlines() if line.startswith("{"))]
        if holders or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(holders) == 1, (request_id, holders)
    return holders[0]


def _eventually_logged(log: Path, needles: list[str]) -> bool:
    """True once every one of ``needles`` is in ``log``: nginx, like a replica, writes its
    access line after the response has left, so a client may read the log before it."""
    deadline = time.monotonic() + 10
    while True:
        text = log.read_text()
        if all(needle in text for needle in needles) or time.monotonic() > deadline:
            return all(needle in text for needle in needles)
        time.sleep(0.05)


async def test_both_replicas_answer_through_the_tls_edge(topology: Topology) -> None:
    async with aiohttp.ClientSession() as session:
        responses = []
        for _ in range(6):
            async with session.get(f"{topology.edge_url}/readyz", headers=FORGED,
                                   ssl=topology.ssl_context()) as response:
                responses.append((response.status, response.headers.copy(),
                                  await response.json()))

    assert [status for status, _, _ in responses] == [200] * 6
    assert all(body["schema"]["position"] == "at-head" for _, _, body in responses)
    for _, headers, _ in responses:
        assert len(headers.getall("Strict-Transport-Security")) == 1
        assert len(headers.getall("X-Frame-Options")) == 1
        assert "default-src 'none'" in headers["Content-Security-Policy"]  # the replica's
        assert "aiohttp" not in headers.get("Server", "")
        assert headers["X-Request-Id"] != FORGED["X-Request-Id"]
    served_by = {replica_of(headers["X-Request-Id"], topology) for _, headers, _ in responses}
    assert served_by == {0, 1}
    assert _eventually_logged(topology.nginx_access_log,
                              [headers["X-Request-Id"] for _, headers, _ in responses])


async def test_the_edge_redirects_plain_http_and_hides_metrics(topology: Topology) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{topology.edge_http_url}/healthz?x=1", allow_redirects=False,
                               headers={"Host": "evil.example"}) as plain:
            location = plain.headers["Location"]
        async with session.get(f"{topology.edge_url}/metrics",
                               ssl=topology.ssl_context()) as metrics:
            metrics_status = metrics.status

    assert plain.status == 308
    assert location == f"{topology.edge_url}/healthz?x=1"
    assert metrics_status == 404


async def test_each_replica_serves_its_metrics_with_the_token_only(topology: Topology) -> None:
    token = topology.secret("metrics_token")
    async with aiohttp.ClientSession() as session:
        for replica in topology.replicas:
            async with session.get(f"{replica}/metrics") as anonymous:
                assert anonymous.status == 401
            async with session.get(f"{replica}/metrics",
                                   headers={"Authorization": f"Bearer {token}"}) as scraped:
                assert scraped.status == 200
                assert "passerelle_http_requests_total" in await scraped.text()


def test_nginx_accepts_the_rendered_configuration(topology: Topology) -> None:
    prefix = topology.state_dir / "nginx"

    checked = nginx_check(prefix / "nginx.conf", prefix / "error.log")

    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_up_again_changes_nothing_and_status_sees_everything(topology: Topology) -> None:
    again = run_script("up", topology.state_dir)
    status = run_script("status", topology.state_dir)

    assert again.returncode == 0, again.stderr
    assert topology.edge_url in again.stdout
    assert status.returncode == 0
    assert status.stdout.count(" running ") == 5


# ---- the edge's header policy, against upstreams that echo what they receive ---------------

@asynccontextmanager
async def echo_server(name: str) -> AsyncIterator[str]:
    """An upstream that answers with the request headers it received, as aiohttp would."""

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"upstream": name, "headers": dict(request.headers)},
                                 headers={"Server": "Python/3.11 aiohttp/3.14",
                                          "X-Frame-Options": "DENY",
                                          "Strict-Transport-Security": "max-age=60"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.close()


async def test_the_edge_replaces_forged_forwarding_headers(tmp_path: Path) -> None:
    async with echo_server("a") as first, echo_server("b") as second:
        with nginx_edge((first, second), tmp_path) as edge:
            seen = []
            async with aiohttp.ClientSession() as session:
                for _ in range(4):
                    async with session.get(f"{edge.https_url}/v5/data?x=1", headers=FORGED,
                                           ssl=edge.ssl_context()) as response:
                        seen.append((response.headers.copy(), await response.json()))
                async with session.get(edge.https_url.replace("localhost", "127.0.0.1"),
                                       headers={"Host": "evil.example"},
                                       ssl=False) as misdirected:
                    misdirected_status = misdirected.status

    assert {body["upstream"] for _, body in seen} == {"a", "b"}
    for response_headers, body in seen:
        received = body["headers"]
        assert received["X-Forwarded-For"] == "127.0.0.1"  # what nginx saw, not 6.6.6.6
        assert received["X-Real-IP"] == "127.0.0.1"
        assert received["X-Forwarded-Proto"] == "https"
        assert received["X-Forwarded-Host"] == "localhost"
        assert received["Host"] == "localhost"
        for dropped in ("Forwarded", "X-Original-URL", "X-Request-Id"):
            assert dropped not in received
        # the edge's values, once each, even where the upstream sent its own
        assert response_headers.getall("Strict-Transport-Security") == [
            "max-age=63072000; includeSubDomains"]
        assert response_headers.getall("X-Frame-Options") == ["DENY"]
        assert response_headers.getall("X-Content-Type-Options") == ["nosniff"]
        assert "aiohttp" not in response_headers.get("Server", "")
    assert misdirected_status == 421
    assert "6.6.6.6" not in edge.access_log.read_text()

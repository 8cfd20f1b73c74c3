"""X-Forwarded-For is believed from trusted proxies only, and never chosen by the client."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from proxy.environment import InvalidConfiguration
from proxy.forwarding import client_address, parse_networks
from tests.ops.conftest import running

NGINX = parse_networks("127.0.0.1, 10.0.0.0/8")


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("127.0.0.1", "203.0.113.7", "203.0.113.7"),            # nginx forwarded the client
    ("127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # right-most hop wins
    ("127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),  # trusted hops are skipped
    ("127.0.0.1", "10.1.2.3", "127.0.0.1"),                 # only proxies: keep the peer
    ("127.0.0.1", "not-an-ip", "127.0.0.1"),                # garbled: believe nothing
    ("127.0.0.1", None, "127.0.0.1"),
    ("198.51.100.20", "203.0.113.7", "198.51.100.20"),      # untrusted peer: header ignored
])
def test_client_address(peer: str, forwarded: str | None, expected: str) -> None:
    assert client_address(peer, forwarded, NGINX) == expected


@given(forwarded=st.text(max_size=80),
       peer=st.ip_addresses(v=4).filter(lambda ip: ip not in ipaddress.ip_network("10.0.0.0/8")
                                        and str(ip) != "127.0.0.1"))
def test_an_untrusted_peer_cannot_choose_its_address(forwarded: str,
                                                     peer: ipaddress.IPv4Address) -> None:
    assert client_address(str(peer), forwarded, NGINX) == str(peer)


def test_a_malformed_trusted_proxy_is_a_configuration_error() -> None:
    with pytest.raises(InvalidConfiguration, match="TRUSTED_PROXIES"):
        parse_networks("127.0.0.1, nginx")


async def whoami(request: web.Request) -> web.Response:
    return web.json_response({"remote": request.remote, "scheme": request.scheme})


@pytest.mark.parametrize(("trusted", "expected"), [("127.0.0.1/32", "203.0.113.7"),
                                                   ("", "127.0.0.1")])
async def test_the_application_sees_the_client_only_behind_a_trusted_proxy(
        make_app: Callable[..., web.Application], trusted: str, expected: str) -> None:
    app = make_app(trusted_proxies=trusted)
    app.router.add_get("/test/whoami", whoami)
    async with running(app) as client:
        response = await client.get("/test/whoami", headers={
            "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
        body = await response.json()

    assert body["remote"] == expected
    assert body["scheme"] == ("https" if trusted else "http")

"""The client's address behind a reverse proxy, believed only from proxies we trust.

Behind nginx every request comes from nginx's address, so anything keyed by ``request.remote``
(login throttling, rate limits) would lump all clients together. When the TCP peer is one of
``Settings.trusted_proxies`` (``PASSERELLE_TRUSTED_PROXIES``, comma-separated addresses or CIDR
ranges), the client is the right-most ``X-Forwarded-For`` hop that is not itself a trusted proxy,
and ``X-Forwarded-Proto`` gives the scheme. From any other peer those headers are ignored: a
client cannot choose its own address (RFC 7239 §8.1). Our nginx configuration replaces, never
appends to, the headers a client sends (``deploy/nginx/snippets/proxy-headers.conf``).

URLs Passerelle emits never come from these headers: they come from the configured public URL
(RFC 9700 §4.13), so this module only affects *who* the client is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from proxy.environment import InvalidConfiguration

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` -> networks; a malformed entry is a configuration error."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False)
                     for part in spec.split(",") if part.strip())
    except ValueError as exc:
        raise InvalidConfiguration(f"PASSERELLE_TRUSTED_PROXIES: {exc}.") from None


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str, forwarded_for: str | None,
                   networks: Sequence[Network]) -> str:
    """The client address: ``peer`` unless ``peer`` is trusted and forwarded a valid chain."""
    if not forwarded_for or not _trusted(peer, networks):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled chain is not believed at all
        if not _trusted(hop, networks):
            return hop
    return peer


def forwarded_middleware_for(networks: Sequence[Network]) -> Middleware:
    """A middleware that rewrites ``request.remote`` / ``scheme`` from trusted proxies."""

    @web.middleware
    async def forwarded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote or ""
        if not networks or not _trusted(peer, networks):
            return await handler(request)
        remote = client_address(peer, request.headers.get("X-Forwarded-For"), networks)
        proto = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        scheme = proto if proto in ("http", "https") else request.scheme
        return await handler(request.clone(remote=remote, scheme=scheme))

    return forwarded_middleware

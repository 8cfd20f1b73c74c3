"""The web addresses a recipient registers: redirect URIs, website, logo, contact e-mail.

Each check returns its input unchanged or raises :class:`~consent.errors.DomainError` naming
the field (a 400 on the admin API, never a 500 from a parser's ``ValueError``). They refuse
what a parser would silently change (``urlsplit`` drops tabs and newlines), what a page would
turn into a script (a ``javascript:`` website rendered as a link), and ports outside 1-65535.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from consent.errors import DomainError

#: Longest address accepted (browsers and proxies cut longer ones).
MAX_URL = 2000
#: RFC 5321's limit on a forward path.
MAX_EMAIL = 254


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ``::1``): authlib's test for where
    plain http is allowed, which the issuer and redirect URIs follow so they never disagree."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def _split(value: str) -> SplitResult | None:
    """``value`` split, or ``None`` if it is too long, holds whitespace or a control or
    non-ASCII character, leaves a bracket open or names a port outside 1-65535."""
    if len(value) > MAX_URL or any(not 0x21 <= ord(c) <= 0x7E for c in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # "https://[::1/cb", "https://app.example:99999/cb"
        return None
    return None if port == 0 or not parts.hostname else parts


def check_redirect_uri(uri: str) -> str:
    """An absolute ``https`` URI without fragment (RFC 6749 §3.1.2: not even an empty one,
    ``#`` alone), or ``http`` on a loopback host (as RFC 8252 §7.3 allows; the port is part of
    the URI here, compared exactly with the rest); stored as given."""
    parts = _split(uri)
    if parts is None or "#" in uri or not (
            parts.scheme == "https"
            or (parts.scheme == "http" and is_loopback_host(parts.hostname))):
        raise DomainError(f"{uri[:200]!r} is not an acceptable redirect URI: use an absolute "
                          "https URI (http only on a loopback address) without fragment.",
                          field="redirect_uris")
    return uri


def check_web_url(url: str, field: str) -> str:
    """An absolute ``https`` or ``http`` URL (a website, a logo): shown to households as a
    link or an image, so no other scheme (``javascript:``, ``data:``)."""
    parts = _split(url)
    if parts is None or parts.scheme not in ("https", "http"):
        raise DomainError(f"{field} must be an absolute https URL.", field=field)
    return url


def check_email(address: str, field: str) -> str:
    """One ``local@domain`` address, no spaces, no display name, at most 254 characters."""
    local, at, domain = address.rpartition("@")
    if (not at or not local or "." not in domain.strip(".") or len(address) > MAX_EMAIL
            or any(not 0x21 <= ord(c) <= 0x7E or c in "<>(),;:\\\"[]" for c in address)):
        raise DomainError(f"{field} must be an e-mail address (name@example.org).", field=field)
    return address

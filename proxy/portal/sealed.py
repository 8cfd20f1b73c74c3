"""Short-lived signed cookies that carry a little state between two requests of one browser.

``value = base64url(json) "." base64url(HMAC-SHA256(server key, purpose || session cookie ||
json))``: readable by the browser (never put a secret inside), but not forgeable, not
replayable by another browser (bound to its session cookie) nor usable for another purpose, and
refused after its ``exp``. Used by the OpenID sign-in for its ``state``/``nonce``/PKCE verifier
(which must survive the round trip to the provider) and the identity waiting to be linked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from aiohttp import web

from proxy.keys import clock_key, web_secret_key
from proxy.web.session import browser_session, cookie_name


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(request: web.Request, purpose: str, cookie: str, payload: bytes) -> str:
    message = purpose.encode() + b"\x00" + cookie.encode() + b"\x00" + payload
    return _b64(hmac.new(request.app[web_secret_key], message, hashlib.sha256).digest())


async def seal(request: web.Request, response: web.StreamResponse, name: str,
               payload: dict[str, Any], *, max_age: int) -> None:
    """Set cookie ``name`` carrying ``payload`` for ``max_age`` seconds."""
    state = await browser_session(request)
    body = dict(payload, exp=int(request.app[clock_key].now().timestamp()) + max_age)
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    secure = cookie_name(request).startswith("__Host-")
    response.set_cookie(name, f"{_b64(raw)}.{_mac(request, name, state.cookie, raw)}",
                        max_age=max_age, httponly=True, secure=secure, samesite="Lax", path="/")


async def unseal(request: web.Request, name: str) -> dict[str, Any] | None:
    """The payload of cookie ``name`` if genuine, for this browser, and not expired."""
    value = request.cookies.get(name, "")
    if not value or len(value) > 4096 or "." not in value:
        return None
    encoded, mac = value.rsplit(".", 1)
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    state = await browser_session(request)
    if not hmac.compare_digest(mac.encode(), _mac(request, name, state.cookie, raw).encode()):
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("exp"), int):
        return None
    if body["exp"] < request.app[clock_key].now().timestamp():
        return None
    return body


def drop(response: web.StreamResponse, name: str) -> None:
    """Remove cookie ``name``."""
    response.del_cookie(name, path="/")

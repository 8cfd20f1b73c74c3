"""One-shot confirmations after a decision (post, redirect, show once: RFC 9110 §15.4.4).

The message travels in a short-lived cookie (``portal_flash``, HttpOnly, SameSite=Lax, one
minute) holding a message key, a few values and an HMAC under the server key bound to the
browser's session cookie: a link cannot make the page of someone else say "your consent was
withdrawn", and a stale cookie from another session is ignored. Only message keys from the
catalogue are ever shown, so no text from the cookie reaches the page as such.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from aiohttp import web

from proxy.keys import web_secret_key
from proxy.web.i18n import MESSAGES
from proxy.web.session import browser_session, cookie_name

COOKIE = "portal_flash"
MAX_AGE = 60


def _mac(request: web.Request, session_cookie: str, payload: bytes) -> str:
    mac = hmac.new(request.app[web_secret_key], b"flash\x00" + session_cookie.encode() + b"\x00"
                   + payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


async def put(request: web.Request, response: web.StreamResponse, key: str,
              values: dict[str, str]) -> None:
    """Attach the confirmation ``key`` (with ``values``) to ``response``."""
    if key not in MESSAGES:
        raise KeyError(key)
    state = await browser_session(request)
    payload = json.dumps({"k": key, "v": values}, separators=(",", ":")).encode()
    value = (base64.urlsafe_b64encode(payload).decode().rstrip("=") + "."
             + _mac(request, state.cookie, payload))
    secure = cookie_name(request).startswith("__Host-")
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, secure=secure,
                        samesite="Lax", path="/")


async def take(request: web.Request) -> dict[str, Any] | None:
    """The pending confirmation ``{"key", "values"}`` if its cookie is genuine, else ``None``."""
    raw = request.cookies.get(COOKIE)
    if not raw or "." not in raw or len(raw) > 2048:
        return None
    encoded, mac = raw.rsplit(".", 1)
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    state = await browser_session(request)
    if not hmac.compare_digest(mac.encode(), _mac(request, state.cookie, payload).encode()):
        return None
    try:
        data = json.loads(payload)
        key, values = data["k"], data["v"]
    except (ValueError, KeyError, TypeError):
        return None
    if key not in MESSAGES or not isinstance(values, dict):
        return None
    return {"key": key, "values": {str(k): str(v) for k, v in values.items()}}


def clear(response: web.StreamResponse) -> None:
    """Remove the confirmation once shown."""
    response.del_cookie(COOKIE, path="/")

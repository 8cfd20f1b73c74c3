"""One-shot confirmations after a decision (post, redirect, show once: RFC 9110 §15.4.4).

The message travels in a short-lived sealed cookie (``portal_flash``, one minute, see
:mod:`proxy.portal.sealed`: signed under the server key and bound to the browser's session
cookie), so a link cannot make the page of someone else say "your consent was withdrawn", and a
stale cookie of another session is ignored. It holds a message key and a few values; only keys
of the catalogue are ever shown, so no text from the cookie reaches the page as such.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proxy.portal import sealed
from proxy.web.i18n import MESSAGES

COOKIE = "portal_flash"
MAX_AGE = 60


async def put(request: web.Request, response: web.StreamResponse, key: str,
              values: dict[str, str]) -> None:
    """Attach the confirmation ``key`` (with ``values``) to ``response``."""
    if key not in MESSAGES:
        raise KeyError(key)
    await sealed.seal(request, response, COOKIE, {"k": key, "v": values}, max_age=MAX_AGE)


async def take(request: web.Request) -> dict[str, Any] | None:
    """The pending confirmation ``{"key", "values"}`` if its cookie is genuine, else ``None``."""
    body = await sealed.unseal(request, COOKIE)
    if body is None:
        return None
    key, values = body.get("k"), body.get("v")
    if key not in MESSAGES or not isinstance(values, dict):
        return None
    return {"key": key, "values": {str(k): str(v) for k, v in values.items()}}


def clear(response: web.StreamResponse) -> None:
    """Remove the confirmation once shown."""
    sealed.drop(response, COOKIE)

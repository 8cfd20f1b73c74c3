"""CSRF tokens on every form: an HMAC of the browser's session cookie under a server key.

The token is ``HMAC-SHA256(key, "csrf" || cookie)``: it changes when the cookie changes (at
sign-in and sign-out), costs no storage, and cannot be computed without the key, which lives in
``PASSERELLE_SECRET_KEY`` (64 hex digits) or, by default, in ``secret.key`` in the data
directory (created on first start, mode 0600). A POST must also come from our own origin when
the browser says where it comes from (``Origin``), as a second, independent check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from consent.errors import PasserelleError
from consent.secret_files import read_or_create
from proxy.environment import InvalidConfiguration
from proxy.keys import settings_key, web_secret_key
from proxy.settings import Settings
from proxy.web.forms import MalformedForm, first, read_form
from proxy.web.session import SessionState, browser_session

FIELD = "csrf_token"


class CsrfRejected(PasserelleError):
    """The form's CSRF token (or its origin) does not match this browser's session."""

    status = 403
    code = "csrf-rejected"
    title = "Form expired or forged"


def load_secret_key(settings: Settings) -> bytes:
    """The server key: from ``PASSERELLE_SECRET_KEY``, else ``secret.key`` (made if missing).
    A key that is not hexadecimal or holds fewer than 32 bytes is
    :class:`~proxy.environment.InvalidConfiguration` (the message never shows it)."""
    env = os.environ.get("PASSERELLE_SECRET_KEY")
    path = Path(settings.data_dir) / "secret.key"
    if env:
        text, origin = env.strip(), "PASSERELLE_SECRET_KEY"
    else:
        raw = read_or_create(path, lambda: secrets.token_hex(32).encode("ascii"))
        text, origin = raw.decode("ascii", "replace").strip(), str(path)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise InvalidConfiguration(f"{origin} must hold at least 32 bytes as hexadecimal "
                                   "(64 hex digits: openssl rand -hex 32).")
    return key


def token_for(request: web.Request, state: SessionState) -> str:
    """The CSRF token of ``state``'s cookie."""
    mac = hmac.new(request.app[web_secret_key], b"csrf\x00" + state.cookie.encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


async def verify(request: web.Request, submitted: str) -> None:
    """Raise :class:`CsrfRejected` unless ``submitted`` is this session's token."""
    state = await browser_session(request)
    if state.fresh or not hmac.compare_digest(submitted.encode(),
                                              token_for(request, state).encode()):
        raise CsrfRejected("The form has expired or did not come from this site.")
    origin = request.headers.get("Origin")
    if origin is not None and origin != _origin(request.app[settings_key].issuer):
        raise CsrfRejected("The form was posted from another site.")


async def read_verified_form(request: web.Request) -> list[tuple[str, str]]:
    """The form body once its CSRF token checks out; raises one of :data:`FORM_REJECTED`."""
    pairs = await read_form(request)
    await verify(request, first(pairs, FIELD))
    return pairs


#: What :func:`read_verified_form` raises: answer with an error page, never act.
FORM_REJECTED = (MalformedForm, CsrfRejected)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

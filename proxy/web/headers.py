"""Security headers on every response (RFC 9700 §4.16 clickjacking, §4.12; FAPI 2.0).

* ``Content-Security-Policy``: no inline script or style, nothing framed, forms post to us only
  (a handler may widen ``form-action`` for one page with :func:`csp`, as the consent page does
  for the recipient's redirect URI, since browsers apply ``form-action`` to the redirect that
  follows a form POST);
* ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'`` (old and new browsers);
* ``Referrer-Policy: same-origin``: authorization URLs carry ``state`` and PKCE values, so no
  other site ever gets a ``Referer``; ``no-referrer`` would be as tight outside but makes
  browsers send ``Origin: null`` on our own form posts (Fetch, "serializing a request
  origin"), which the CSRF origin check must then refuse;
* ``X-Content-Type-Options: nosniff``;
* ``Cache-Control: no-store`` on every response but static files, unless the handler said
  otherwise: pages, tokens, and the data APIs' answers, which carry a household's meter data,
  identity or contact details (no shared or browser cache may keep them);
* ``Strict-Transport-Security`` when the instance is served over https.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from proxy.keys import settings_key

_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' https:; form-action {form}; "
        "frame-ancestors 'none'; base-uri 'none'")


def csp(*form_targets: str) -> str:
    """The page policy; ``form_targets`` are origins added to ``form-action`` besides ours."""
    return _CSP.format(form=" ".join(["'self'", *form_targets]))


def _apply(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", csp())
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    if request.app[settings_key].issuer.startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


@web.middleware
async def security_headers_middleware(request: web.Request,
                                      handler: Handler) -> web.StreamResponse:
    """Outermost middleware: every response, errors included, gets the headers."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _apply(request, exc)
        raise
    if not response.prepared:
        _apply(request, response)
    return response

"""A small but real OpenID Connect provider on 127.0.0.1, for the portal's sign-in tests.

It serves discovery, a JWKS (RSA, with a ``kid``), an authorization endpoint that signs in the
configured :attr:`Provider.user` at once (no page: the test decides who is "at the keyboard")
and a token endpoint that checks the client's Basic credentials, the code, the redirect URI and
the PKCE verifier, then returns an ID token signed with joserfc. :attr:`Provider.tamper` makes
the next ID tokens wrong in one way (audience, issuer, nonce, signature key, expiry, algorithm)
so tests can check that each is refused.

Re-authentication (Core §3.1.2.1): the provider remembers when the user last "actively signed
in" (:attr:`Provider.signed_in_at`, on its clock). It signs in again when it has no such
instant, when asked ``prompt=login``, or when ``max_age`` has elapsed, unless
:attr:`Provider.reauthenticates` is false (a provider that ignores both, or a URL stripped of
them). A plain request on a provider already signed in is answered silently, like single
sign-on on a shared computer left signed in. Every ID token carries that ``auth_time``, as most
providers send it (``tamper="no_auth_time"`` leaves it out, ``"future_auth_time"`` says two
minutes ahead). :attr:`Provider.requests` keeps every authorization request's query.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

CLIENT_ID = "passerelle-test"
CLIENT_SECRET = "test-secret-of-passerelle"


@dataclass
class Provider:
    """The provider's state; ``url`` is its issuer."""

    url: str = ""
    user: dict[str, Any] = field(default_factory=lambda: {"sub": "fc-alice-0001",
                                                          "given_name": "Alice",
                                                          "family_name": "Martin"})
    tamper: str | None = None
    now: Any = time.time
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(
        2048, parameters={"kid": "key-1"}, private=True))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    issued: int = 0
    signed_in_at: int | None = None
    reauthenticates: bool = True
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def discovery_url(self) -> str:
        """Where Passerelle is configured to look."""
        return self.url + "/.well-known/openid-configuration"

    def authenticate(self, prompt: str, max_age: str | None) -> int:
        """When the user last actively signed in, after this request's sign-in if any."""
        now = int(self.now())
        stale = max_age is not None and (self.signed_in_at or 0) + int(max_age) < now
        if self.signed_in_at is None or (self.reauthenticates and ("login" in prompt.split()
                                                                   or stale)):
            self.signed_in_at = now
        return self.signed_in_at

    def id_token(self, nonce: str, auth_time: int | None = None) -> str:
        """An ID token for :attr:`user`, made wrong as :attr:`tamper` says."""
        now = int(self.now())
        claims = {"iss": self.url, "aud": CLIENT_ID, "sub": self.user["sub"], "iat": now,
                  "exp": now + 300, "nonce": nonce, "acr": "eidas1",
                  **{k: v for k, v in self.user.items() if k != "sub"}}
        if auth_time is not None and self.tamper != "no_auth_time":
            claims["auth_time"] = now + 120 if self.tamper == "future_auth_time" else auth_time
        key: Any = self.key
        header = {"alg": "RS256", "kid": "key-1"}
        if self.tamper == "aud":
            claims["aud"] = "someone-else"
        elif self.tamper == "iss":
            claims["iss"] = "https://evil.example"
        elif self.tamper == "nonce":
            claims["nonce"] = "another-nonce"
        elif self.tamper == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif self.tamper == "signature":
            key = RSAKey.generate_key(2048, parameters={"kid": "key-1"}, private=True)
        elif self.tamper == "hs256":  # signed with the client secret as an HMAC key
            key, header = OctKey.import_key(CLIENT_SECRET.encode()), {"alg": "HS256",
                                                                      "kid": "key-1"}
        return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def _app(provider: Provider) -> web.Application:
    async def discovery(_request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": provider.url, "authorization_endpoint": provider.url + "/authorize",
            "token_endpoint": provider.url + "/token", "jwks_uri": provider.url + "/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"]})

    async def jwks(_request: web.Request) -> web.Response:
        return web.json_response(KeySet([provider.key]).as_dict(private=False))

    async def authorize(request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return web.json_response({"error": "invalid_request"}, status=400)
        provider.requests.append(dict(q))
        code = secrets.token_urlsafe(16)
        auth_time = provider.authenticate(q.get("prompt", ""), q.get("max_age"))
        provider.codes[code] = {"redirect_uri": q["redirect_uri"], "nonce": q["nonce"],
                                "challenge": q["code_challenge"],
                                "auth_time": auth_time}
        target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})
        return web.Response(status=302, headers={"Location": target})

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = provider.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (grant is None or grant["redirect_uri"] != form.get("redirect_uri")
                or challenge.decode().rstrip("=") != grant["challenge"]):
            return web.json_response({"error": "invalid_grant"}, status=400)
        provider.issued += 1
        return web.json_response({"access_token": secrets.token_urlsafe(16),
                                  "token_type": "Bearer", "expires_in": 60,
                                  "id_token": provider.id_token(grant["nonce"],
                                                                grant["auth_time"])})

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/jwks", jwks)
    app.router.add_get("/authorize", authorize)
    app.router.add_post("/token", token)
    return app


async def serve(provider: Provider | None = None) -> AsyncIterator[Provider]:
    """Run a provider on a free loopback port."""
    provider = provider or Provider()
    server = TestServer(_app(provider), host="127.0.0.1")
    await server.start_server()
    provider.url = str(server.make_url("")).rstrip("/")
    try:
        yield provider
    finally:
        await server.close()

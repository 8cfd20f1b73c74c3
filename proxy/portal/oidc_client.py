"""A relying party of one OpenID Connect provider (FranceConnect, itsme...), configured by its
discovery URL (OpenID Connect Discovery 1.0, Core 1.0 §3.1: authorization code flow).

* Discovery: the document is fetched once an hour; its ``issuer`` must be exactly the discovery
  URL without ``/.well-known/openid-configuration`` (Discovery §4.3), else nothing is trusted.
* Authorization request: ``response_type=code``, ``scope=openid``, ``state``, ``nonce`` and a
  PKCE S256 challenge (RFC 7636; FAPI and RFC 9700 advise it for every client).
* Token request: the code, the verifier, client authentication ``client_secret_basic``.
* ID token (Core §3.1.3.7): signature checked against the provider's JWKS (fetched again once
  when a ``kid`` is unknown, which is how providers rotate keys) with asymmetric algorithms
  only (``RS256``, ``PS256``, ``ES256``: never ``none`` nor an HMAC keyed by the client
  secret); ``iss`` equals the discovered issuer; ``aud`` contains our client id (and ``azp``
  names us if there are several audiences); ``exp`` in the future and ``iat`` not in the future
  (:data:`LEEWAY` seconds of clock skew); ``nonce`` equals the one we sent; ``sub`` present.
* Signing in again on purpose (a recent sign-in is asked, :data:`proxy.web.session.RECENT_SIGN_IN`):
  the request adds ``prompt=login`` and ``max_age`` (Core §3.1.2.1). ``prompt=login`` is only a
  hint (whoever holds the browser can strip it from the URL), so the ID token must then carry
  ``auth_time`` (Core §3.1.2.1 makes it mandatory with ``max_age``) no older than ``max_age``
  and not more than :data:`LEEWAY` in the future (Core §3.1.3.7 step 13), else
  :class:`NotRecent`.
* Every sign-in: :attr:`Identity.auth_time` is the ID token's ``auth_time`` when it is sane (a
  number, not more than :data:`LEEWAY` in the future, then taken as "now"), else ``None``. It is
  when the person last *authenticated* at the provider, which a plain sign-in may not have asked
  (the provider's own session, hours old, signs the browser in silently); the session keeps it
  to tell a recent sign-in (:mod:`proxy.web.session`).

JOSE is done by ``joserfc`` (authlib's own JOSE library). HTTP goes through aiohttp with a
timeout; every failure is an :class:`OidcError` and nothing of the provider's answer reaches
the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from consent.errors import PasserelleError

ALGORITHMS = ("RS256", "PS256", "ES256")
LEEWAY = 60
METADATA_TTL = 3600.0
_SUFFIX = "/.well-known/openid-configuration"


class OidcError(PasserelleError):
    """The provider's answer cannot be trusted or used; the sign-in does not happen."""

    status = 502
    code = "oidc-failed"
    title = "Sign-in with the identity provider failed"


class NotRecent(OidcError):
    """A re-sign-in asked with ``max_age``: the provider did not confirm a recent one."""

    status = 403
    code = "oidc-not-recent"
    title = "The identity provider did not confirm a recent sign-in"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says signed in: ``(issuer, subject)`` and a display name, if given;
    ``auth_time`` when they authenticated, if the ID token says so sanely (module docstring)."""

    issuer: str
    subject: str
    name: str | None
    acr: str | None
    auth_time: datetime | None = None


@dataclass(slots=True)
class _Cache:
    metadata: dict[str, Any] | None = None
    fetched: float = 0.0
    keys: KeySet | None = None


def code_challenge(verifier: str) -> str:
    """RFC 7636 S256 challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OidcClient:
    """See the module docstring. ``now`` returns the current Unix time (tests freeze it)."""

    def __init__(self, http: aiohttp.ClientSession, discovery_url: str, client_id: str,
                 client_secret: str, redirect_uri: str, *,
                 now: Any = time.time) -> None:
        if not discovery_url.endswith(_SUFFIX):
            raise ValueError(f"the discovery URL must end with {_SUFFIX}")
        self.http = http
        self.discovery_url = discovery_url
        self.expected_issuer = discovery_url[: -len(_SUFFIX)]
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.now = now
        self._cache = _Cache()

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.http.request(method, url, timeout=aiohttp.ClientTimeout(total=10),
                                         allow_redirects=False, **kwargs) as response:
                if response.status != 200:
                    raise OidcError(f"The identity provider answered HTTP {response.status}.")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise OidcError("The identity provider could not be reached or answered "
                            "something unreadable.") from None
        if not isinstance(body, dict):
            raise OidcError("The identity provider answered something unreadable.")
        return body

    async def metadata(self) -> dict[str, Any]:
        """The discovery document (cached an hour), checked against the discovery URL."""
        cache = self._cache
        if cache.metadata is not None and time.monotonic() - cache.fetched < METADATA_TTL:
            return cache.metadata
        found = await self._json("GET", self.discovery_url)
        if found.get("issuer") != self.expected_issuer:
            raise OidcError("The provider's issuer does not match its discovery URL.")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(found.get(name), str) or not found[name].startswith(
                    ("https://", "http://127.0.0.1", "http://localhost")):
                raise OidcError(f"The provider's {name} is missing or not https.")
        cache.metadata, cache.fetched, cache.keys = found, time.monotonic(), None
        return found

    async def authorization_url(self, state: str, nonce: str, verifier: str, *,
                                max_age: int | None = None) -> str:
        """Where to send the browser (Core §3.1.2.1); with ``max_age`` (seconds), the person
        is asked to sign in again at the provider (``prompt=login``)."""
        meta = await self.metadata()
        params = {"response_type": "code", "client_id": self.client_id,
                  "redirect_uri": self.redirect_uri, "scope": "openid profile",
                  "state": state, "nonce": nonce, "code_challenge": code_challenge(verifier),
                  "code_challenge_method": "S256"}
        if max_age is not None:
            params |= {"prompt": "login", "max_age": str(max_age)}
        return f"{meta['authorization_endpoint']}?{urlencode(params)}"

    async def sign_in(self, code: str, verifier: str, nonce: str, *,
                      max_age: int | None = None) -> Identity:
        """Redeem ``code`` and return the verified identity of its ID token (``max_age``: the
        one of :meth:`authorization_url`, checked against ``auth_time``)."""
        meta = await self.metadata()
        secret = base64.b64encode(f"{_form(self.client_id)}:{_form(self.client_secret)}"
                                  .encode()).decode()
        tokens = await self._json("POST", meta["token_endpoint"], data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "code_verifier": verifier}, headers={"Authorization": f"Basic {secret}",
                                                 "Accept": "application/json"})
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or len(id_token) > 16384:
            raise OidcError("The provider returned no ID token.")
        return await self.verify(id_token, nonce, max_age=max_age)

    async def verify(self, id_token: str, nonce: str, *,
                     max_age: int | None = None) -> Identity:
        """Check the ID token (module docstring) and return who it names."""
        meta = await self.metadata()
        try:
            token = jwt.decode(id_token, await self._keys(id_token), algorithms=list(ALGORITHMS))
        except (JoseError, ValueError):
            raise OidcError("The ID token's signature does not verify.") from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self.now()), leeway=LEEWAY,
            iss={"essential": True, "value": meta["issuer"]},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce})
        try:
            registry.validate(claims)
        except JoseError as error:
            raise OidcError(f"The ID token was refused ({error.error}).") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("The ID token names several audiences but not us as azp.")
        if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 255:
            raise OidcError("The ID token's subject is not usable.")
        auth_time = self._auth_time(claims.get("auth_time"))
        if max_age is not None:  # Core §3.1.3.7 step 13
            if auth_time is None:
                raise NotRecent("The ID token does not say (sanely) when the person signed in.")
            # a real re-sign-in is seconds old: no leeway past max_age
            if self.now() - auth_time.timestamp() > max_age:
                raise NotRecent("The provider did not ask the person to sign in again.")
        name = claims.get("name") or " ".join(
            str(claims[k]) for k in ("given_name", "family_name") if claims.get(k)) or None
        acr = claims.get("acr") if isinstance(claims.get("acr"), str) else None
        return Identity(meta["issuer"], claims["sub"], str(name)[:200] if name else None, acr,
                        auth_time)

    def _auth_time(self, claim: Any) -> datetime | None:
        """``auth_time`` as an instant: a finite, non-negative number of seconds at most
        :data:`LEEWAY` in the future (clock skew: then now), else ``None`` (unknown)."""
        if isinstance(claim, bool) or not isinstance(claim, int | float):
            return None
        now = self.now()
        if not (math.isfinite(claim) and 0 <= claim <= now + LEEWAY):
            return None
        return datetime.fromtimestamp(min(claim, now), UTC)

    async def _keys(self, id_token: str) -> KeySet:
        """The JWKS; fetched again (once) when the token's ``kid`` is not in it."""
        cache = self._cache
        meta = await self.metadata()
        kid = _header_kid(id_token)
        for refresh in (False, True):
            if cache.keys is None or refresh:
                try:
                    found: Any = await self._json("GET", meta["jwks_uri"])
                    cache.keys = KeySet.import_key_set(found)
                except (JoseError, ValueError, TypeError, KeyError):
                    raise OidcError("The provider's key set is unreadable.") from None
            if kid is None or any(k.kid == kid for k in cache.keys.keys):
                return cache.keys
        raise OidcError("The ID token is signed with a key the provider does not publish.")


def _form(value: str) -> str:
    """RFC 6749 §2.3.1: client id and secret are form-encoded inside Basic credentials."""
    return quote_plus(value)


def _header_kid(token: str) -> str | None:
    """The ``kid`` of a compact JWS header (unverified: only used to pick a key)."""
    try:
        header = token.split(".", 1)[0]
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, IndexError):
        return None
    kid = decoded.get("kid") if isinstance(decoded, dict) else None
    return kid if isinstance(kid, str) else None

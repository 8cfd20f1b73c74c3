"""Client secrets of recipients: generated here, shown once, stored only as a hash.

A client secret is 256 random bits (``secrets.token_urlsafe(32)``), so unlike a password it
cannot be guessed and a slow hash adds nothing but latency on every token request: we store
``sha256$<hex>`` and compare in constant time (RFC 6749 §2.3.1 leaves the method to us;
RFC 9700 §2.5 asks that secrets be unguessable).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_PREFIX = "sha256$"


def new_client_secret() -> str:
    """A fresh secret to hand to the recipient once."""
    return secrets.token_urlsafe(32)


def new_client_id() -> str:
    """A fresh public client identifier."""
    return "pc_" + secrets.token_urlsafe(16)


def hash_client_secret(secret: str) -> str:
    """What the registry stores for ``secret``."""
    return _PREFIX + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verify_client_secret(stored_hash: str, secret: str) -> bool:
    """True if ``secret`` is the one ``stored_hash`` was made from (constant time)."""
    if not stored_hash.startswith(_PREFIX):
        return False
    return hmac.compare_digest(stored_hash, hash_client_secret(secret))

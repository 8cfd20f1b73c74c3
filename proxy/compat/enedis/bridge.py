"""A Data Connect consent request in flight, carried in the ``state`` of Passerelle's own
authorization request, so that any replica can finish it (replicas share nothing but the
database, and a restart loses nothing).

A bridge holds the recipient's ``client_id``, the recipient's own ``state`` (``None`` if it sent
none) and the instant it was issued (Unix seconds, from the application's clock). It travels as
``b1.<payload>.<mac>``: the payload is base64url (unpadded) JSON ``[client_id, state, issued]``,
the MAC is HMAC-SHA256 over ``b1.<payload>`` under :func:`bridge_key`, a subkey derived from the
server key (``PASSERELLE_SECRET_KEY``, shared by every replica, :mod:`proxy.web.csrf`) for this
purpose only. :func:`open_bridge` answers ``None`` for anything it did not seal itself, or
sealed more than :data:`BRIDGE_TTL` seconds ago: a changed field, a forged or missing MAC,
another key, a malformed token. The redirect target is deliberately not in the bridge: the
callback derives it again from the recipient's registered redirect URIs, so nothing the browser
carries decides where it is sent.

Size: ``client_id`` is at most 64 ASCII characters and the recipient's ``state`` at most 100
characters (control characters escape to 6 bytes, others take at most 4 in UTF-8), so a bridge
stays under 1,000 characters, less than half the 2,048 that Passerelle's authorization
endpoint accepts for a parameter (:data:`proxy.oauth.glue.MAX_VALUE_LENGTH`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

#: How long a household may take on Passerelle's sign-in and consent pages (seconds). A day:
#: an approval creates the consent whatever the bridge's age, so a bridge that expired on the
#: way would leave the app unaware of a consent it holds; what keeps a late callback from
#: being replayed is the single-use, one-minute code it carries, not this lifetime.
BRIDGE_TTL = 86_400
#: Tolerated disagreement between the clocks of the replica that issues and the one that
#: checks (seconds): a bridge "issued" up to this far in the future is accepted.
CLOCK_SKEW = 60
VERSION = "b1"
PURPOSE = b"passerelle/compat/enedis/dataconnect-bridge/v1"


@dataclass(frozen=True, slots=True)
class Bridge:
    """One Data Connect consent request in flight through Passerelle's consent page."""

    client_id: str
    state: str | None
    issued: int


def bridge_key(secret_key: bytes) -> bytes:
    """The bridges' MAC key: ``HMAC-SHA256(server key, PURPOSE)``, never the raw server key."""
    return hmac.new(secret_key, PURPOSE, hashlib.sha256).digest()


def seal_bridge(key: bytes, bridge: Bridge) -> str:
    """``bridge`` as an authenticated ``state`` value (URL-safe characters only)."""
    payload = json.dumps([bridge.client_id, bridge.state, bridge.issued],
                         separators=(",", ":"), ensure_ascii=False).encode()
    signed = f"{VERSION}.{_b64(payload)}"
    return f"{signed}.{_b64(_mac(key, signed))}"


def open_bridge(key: bytes, token: str, now: datetime) -> Bridge | None:
    """The bridge ``token`` carries if this key sealed it and it is still alive, else ``None``."""
    if not token.isascii():  # what we seal is; and str.encode below cannot fail on it
        return None
    signed, _, mac = token.rpartition(".")
    version, _, payload = signed.partition(".")
    if version != VERSION or not hmac.compare_digest(mac.encode(),
                                                     _b64(_mac(key, signed)).encode()):
        return None
    try:
        fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):  # our own MAC over garbage: only if the key leaked
        return None
    if not (isinstance(fields, list) and len(fields) == 3):
        return None
    client_id, state, issued = fields
    if (not isinstance(client_id, str) or not isinstance(state, str | None)
            or type(issued) is not int):
        return None
    age = int(now.timestamp()) - issued
    if not -CLOCK_SKEW <= age <= BRIDGE_TTL:
        return None
    return Bridge(client_id, state, issued)


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")

"""The admin API's tokens: the ``admin-tokens`` file in the data directory (mode 0600).

One line per valid token: ``<sha256 hex of the token> <tenant> <id>``. The token itself is
printed once by ``passerelle admin-token create`` and never stored. The ``id`` is random and
tells nothing about the token: it is how the evidence log and the staff journal name the token
(``admin-token:<id>``), and what ``passerelle admin-token revoke`` takes. Lines written before
ids existed (``<sha256>`` or ``<sha256> <tenant>``) are named by the first 12 digits of their
digest, as the evidence log has named them so far; revoking one removes its line.

Creating and revoking are privileged acts (R16, R19): :mod:`proxy.oauth.cli` records each in
the staff journal and the evidence log in the transaction that changes this file.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from consent.models import DEFAULT_TENANT
from proxy.settings import Settings

ADMIN_TOKENS_FILE = "admin-tokens"
DIGEST_HEX = 64


@dataclass(frozen=True, slots=True)
class AdminToken:
    """One valid admin token, as the file knows it (never the token itself)."""

    digest: str
    tenant: str
    id: str

    def line(self) -> str:
        return f"{self.digest} {self.tenant} {self.id}\n"


def new_token_id() -> str:
    """A random id for a new token (48 bits: enough to tell an instance's tokens apart)."""
    return secrets.token_hex(6)


def tokens_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / ADMIN_TOKENS_FILE


def read_tokens(settings: Settings) -> list[AdminToken]:
    """The valid tokens, in file order (none when the file does not exist: the API is closed)."""
    path = tokens_path(settings)
    if not path.exists():
        return []
    tokens = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts and len(parts[0]) == DIGEST_HEX:
            tenant = parts[1] if len(parts) > 1 else DEFAULT_TENANT
            tokens.append(AdminToken(parts[0], tenant, parts[2] if len(parts) > 2
                                     else parts[0][:12]))
    return tokens


def admin_token_digests(settings: Settings) -> dict[str, AdminToken]:
    """The valid tokens by digest."""
    return {t.digest: t for t in read_tokens(settings)}


def append_token(settings: Settings, token: AdminToken) -> None:
    """Add ``token``'s line (the file is created mode 0600)."""
    path = tokens_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as handle:
        handle.write(token.line())


def remove_token(settings: Settings, token_id: str) -> AdminToken | None:
    """Remove the line of the token ``token_id`` (the file is replaced whole, atomically, so a
    server reading it sees the old or the new list); the token removed, or ``None``."""
    tokens = read_tokens(settings)
    gone = next((t for t in tokens if t.id == token_id), None)
    if gone is None:
        return None
    path = tokens_path(settings)
    fresh = path.with_name(path.name + ".new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(t.line() for t in tokens if t is not gone)
    os.replace(fresh, path)
    return gone

"""The admin API's tokens: the ``admin-tokens`` file in the data directory (mode 0600).

One line per valid token: ``<sha256 hex of the token> <tenant> <id>``. The token itself is
printed once by ``passerelle admin-token create`` and never stored. The ``id`` is random and
tells nothing about the token: it is how the evidence log and the staff journal name the token
(``admin-token:<id>``), and what ``passerelle admin-token revoke`` takes. Lines written before
ids existed (``<sha256>`` or ``<sha256> <tenant>``) are named by the first 12 digits of their
digest, as the evidence log has named them so far; revoking one removes its line.

Replicas without a data directory of their own (containers) read the same lines from
``$PASSERELLE_ADMIN_TOKENS`` (a secret file through ``PASSERELLE_ADMIN_TOKENS_FILE``), which
wins over the file (:func:`admin_token_digests`); the commands always work on a file (a
scratch one for such replicas, whose lines then go into the secret).

Creating and revoking are privileged acts (R16, R19): :mod:`proxy.oauth.admin_token_cli`
records each in the staff journal and the evidence log, in the transaction that changes the file.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from consent.models import DEFAULT_TENANT
from proxy.settings import Settings

ADMIN_TOKENS_FILE = "admin-tokens"
ADMIN_TOKENS_VAR = "PASSERELLE_ADMIN_TOKENS"
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
    """The tokens of the data directory's file, in order (none when it does not exist)."""
    path = tokens_path(settings)
    return parse_tokens(path.read_text()) if path.exists() else []


def parse_tokens(text: str) -> list[AdminToken]:
    """The tokens of ``text``'s lines (anything else, comments included, is skipped)."""
    tokens = []
    for line in text.splitlines():
        parts = line.split()
        if parts and len(parts[0]) == DIGEST_HEX:
            tenant = parts[1] if len(parts) > 1 else DEFAULT_TENANT
            tokens.append(AdminToken(parts[0], tenant, parts[2] if len(parts) > 2
                                     else parts[0][:12]))
    return tokens


def admin_token_digests(settings: Settings) -> dict[str, AdminToken]:
    """The tokens the admin API accepts, by digest: ``$PASSERELLE_ADMIN_TOKENS`` if set, else
    the data directory's file (none: the API is closed)."""
    text = os.environ.get(ADMIN_TOKENS_VAR)
    tokens = parse_tokens(text) if text is not None else read_tokens(settings)
    return {t.digest: t for t in tokens}


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

"""Replicas in tests: a second application on the first one's database."""

from __future__ import annotations

import pytest
from aiohttp import web

from consent.evidence.secrets import ENV_VAR
from consent.evidence.service import KEYRING_FILE
from proxy.keys import settings_key


def share_evidence_keys(monkeypatch: pytest.MonkeyPatch, first: web.Application) -> None:
    """Give the replicas started from now on the evidence keys of ``first`` (whose keyring is
    its data directory's file), as an instance gives all its replicas the same
    ``PASSERELLE_EVIDENCE_KEYS``: a replica whose keys cannot open the log's signing key
    refuses to start (proxy/evidence/setup.py)."""
    path = first[settings_key].data_dir / KEYRING_FILE
    monkeypatch.setenv(ENV_VAR, path.read_text(encoding="ascii"))

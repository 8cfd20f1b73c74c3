"""The typed result of bearer authentication (see :func:`proxy.auth.authenticate_bearer`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent.identifiers import PointRef
from consent.scopes import scope_of
from consent.vocabulary import Dataset, Resolution
from proxy.errors import InsufficientScope


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """An access token that passed every check of :func:`authenticate_bearer`.

    ``consent_id`` is ``None`` for a client-credentials token: it identifies the app only, and
    ``points`` is then empty (each request names its point; the consent is looked up per call).
    ``resolution`` is the finest resolution the consent releases (``None`` without consent).
    """

    token_id: str
    client_id: str
    recipient_id: str
    tenant_id: str
    consent_id: str | None
    account_id: str | None
    datasets: frozenset[Dataset]
    points: tuple[PointRef, ...]
    resolution: Resolution | None
    expires_at: datetime
    authorization_details: tuple[dict[str, Any], ...] = ()

    @property
    def scope(self) -> str:
        """The datasets as a scope string."""
        return scope_of(self.datasets)

    def covers(self, dataset: Dataset) -> bool:
        """True if the token may read ``dataset``."""
        return dataset in self.datasets

    def require(self, *datasets: Dataset) -> None:
        """Raise :class:`InsufficientScope` unless every one of ``datasets`` is covered."""
        missing = [d for d in datasets if d not in self.datasets]
        if missing:
            raise InsufficientScope(
                f"The token does not cover: {scope_of(missing)}.", scope=scope_of(missing))

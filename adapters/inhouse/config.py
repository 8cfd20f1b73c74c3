"""Configuration of the simulator's in-house DSO server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from adapters.base import Quota
from consent.identifiers import Source
from consent.vocabulary import Dataset


@dataclass(frozen=True)
class ServerConfig:
    """Who may call, what is announced, and the per-call windows enforced."""

    clients: dict[str, str]
    admin_token: str | None = None
    curve_window: timedelta = timedelta(days=31)
    daily_window: timedelta = timedelta(days=366)
    quotas: tuple[Quota, ...] = (Quota(20, timedelta(seconds=1)), Quota(10_000, timedelta(hours=1)))
    token_lifetime: timedelta = timedelta(hours=1)
    sources: frozenset[Source] = field(default_factory=lambda: frozenset(Source))

    def window(self, dataset: Dataset) -> timedelta:
        """Longest period one series call may cover for ``dataset``."""
        sub_daily = dataset in (Dataset.CONSUMPTION_LOAD_CURVE, Dataset.PRODUCTION_LOAD_CURVE)
        return self.curve_window if sub_daily else self.daily_window

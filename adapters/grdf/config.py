"""Configuration of the GRDF ADICT v2 adapter.

ADICT publishes no request quota ("no official ADICT rate limit was found", lowatt-grdf waits
about a second between calls: dso-apis-and-peers.md §2.1, §6): the default declares one request
per second for the whole application, the conservative reading, so the API names below (the
tags of the ADICT v2 OpenAPI, §2.2) only name calls until GRDF documents per-API figures.
The history of informative data is three years ("date_debut ne doit pas être antérieur à la
date du jour - 3 ans"); the per-call window is not documented, so calls cover at most 365 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from adapters.base import Quota
from adapters.quota import QuotaPlan
from adapters.transport import RetryPolicy

PRODUCTION_API = "https://api.grdf.fr/adict/v2"
TOKEN_URL = "https://adict-connexion.grdf.fr/oauth2/aus5y2ta2uEHjCWIR417/v1/token"  # noqa: S105
SCOPE = "/adict/v2"
DEFAULT_QUOTAS = (Quota(1, timedelta(seconds=1)),)
#: The APIs the adapter's calls name: consumption data (informative and published), contract
#: and technical data, access rights (declare/revoke one, list them, send proofs).
APIS = frozenset({"consommation", "contrat", "technique", "droit_acces", "droits_acces",
                  "preuves"})
#: Months of history ADICT serves, and the longest period asked in one call.
HISTORY_MONTHS = 36
WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class GrdfConfig:
    """Where ADICT is and who we are there. The secret never appears in repr."""

    client_id: str
    client_secret: str = field(repr=False)
    base_url: str = PRODUCTION_API
    token_url: str = TOKEN_URL
    scope: str = SCOPE
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    quotas: tuple[Quota, ...] = DEFAULT_QUOTAS
    renew_token_before: timedelta = timedelta(minutes=5)
    timezone: str = "Europe/Paris"

    @property
    def application(self) -> str:
        """The quota key: quotas belong to the operator's ADICT client."""
        return f"grdf:{self.client_id}"

    @property
    def quota_plan(self) -> QuotaPlan:
        """The declared quotas and the APIs the adapter's calls name."""
        return QuotaPlan(self.application, self.quotas, APIS)

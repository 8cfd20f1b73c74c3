"""Settings of one Passerelle instance: frozen, built once, from CLI options and environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Data Connect's access-token lifetime (seconds): the default and the cap of the compatible
#: token endpoint's (reference §1.3), the longest any Passerelle token lives.
DATA_CONNECT_TOKEN_SECONDS = 12_600


def default_data_dir() -> Path:
    """``$PASSERELLE_DATA_DIR``, else ``./.passerelle``."""
    return Path(os.environ.get("PASSERELLE_DATA_DIR", ".passerelle"))


@dataclass(frozen=True)
class Settings:
    """Everything ``create_app`` needs. Paths are resolved; URLs are complete.

    ``database_url`` defaults to an SQLite file in ``data_dir``; ``public_url`` is the issuer
    identifier (RFC 8414) and the base of every absolute link Passerelle emits.
    """

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    demo: bool = False
    #: Lifetime of OAuth access tokens, in seconds (capped at 3600 whatever is set here).
    access_token_ttl: int = 600
    #: Lifetime of the tokens of the Data Connect-compatible token endpoint, in seconds:
    #: Data Connect's own 12,600 by default, which its clients cache without reading
    #: ``expires_in`` (capped at 12,600; lower it only for clients known to renew).
    compat_access_token_ttl: int = DATA_CONNECT_TOKEN_SECONDS
    #: A refresh token not used for this many days expires (never after its consent): rotated
    #: tokens are kept until then for reuse detection, so this bounds their table.
    refresh_token_idle_days: int = 30
    # --- operations (issue 9): every field is also PASSERELLE_<NAME> (proxy/environment.py)
    #: ``text`` for people, ``json`` for log collectors (containers set json).
    log_format: str = "text"
    log_level: str = "INFO"
    #: ``uvloop`` (libuv: less CPU per request) or ``asyncio`` (the standard library's).
    event_loop: str = "uvloop"
    #: Bearer token that ``/metrics`` requires; unset: loopback peers only.
    metrics_token: str | None = field(default=None, repr=False)
    #: Comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    #: Upgrade the schema at start. Off when several replicas share a database: one migration
    #: job runs ``passerelle migrate`` before the replicas roll (docs/operations.md).
    migrate_on_start: bool = True

    # --- data proxy (issue 4) -------------------------------------------------------------
    #: Keep past, complete days fetched from DSOs (sealed) and share them between recipients.
    upstream_cache: bool = True
    #: Longest wait for an upstream quota slot before answering 503 with Retry-After (s).
    upstream_max_wait: float = 10.0
    #: The most of a DSO's longer quota windows (an hour's, a day's) one recipient may take,
    #: counted per replica (adapters.limiter); beyond it, 429 with Retry-After. 1: no cap.
    upstream_recipient_share: float = 0.5
    #: Per-recipient rate limit: sustained requests per second, and burst size.
    recipient_rate: float = 20.0
    recipient_burst: int = 40
    #: Per client address (IPv4, IPv6 /64), data-path requests naming no valid token: burst
    #: evidenced one by one, then this many a second; past it 429, one summary a minute (R16).
    unauthenticated_rate: float = 2.0
    unauthenticated_burst: int = 20
    #: How often the cache drops days of points no active consent covers any more (s).
    cache_purge_interval: float = 600.0
    #: Longest reuse (s) of token and consent rows read for the checks; 0 reads them on every
    #: request. Every commit drops them at once (other replicas: within a second, through
    #: PostgreSQL NOTIFY); this bound only covers writers that do not go through Passerelle.
    check_cache_ttl: float = 5.0
    #: How often answers to authorization requests past their replay window are deleted (s;
    #: the window is ``proxy.oauth.answer_once.ANSWER_RETENTION``).
    answer_prune_interval: float = 3600.0
    #: How often expired codes, tokens, browser sessions, staff and auditor tokens and reset
    #: codes are deleted (s; what may go and when: ``consent.expiry_sweep``).
    expired_prune_interval: float = 3600.0
    #: SQLite only: ``full`` (an acknowledged access event survives a power loss) or ``normal``
    #: (it survives the process being killed, not the machine losing power); see
    #: ``consent.storage.database.SQLITE_SYNCHRONOUS``.
    sqlite_synchronous: str = "full"

    # --- evidence (issue 6) ----------------------------------------------------------------
    #: How often a signed checkpoint of the evidence log is issued (s); auditors can also ask
    #: for one (POST /audit/v1/checkpoints).
    evidence_checkpoint_interval: float = 600.0
    #: How often the retention sweep runs (s): usage traces past 31 days become weekly counts,
    #: weekly counts past 20 weeks monthly ones, monthly ones past 20 months go (R17;
    #: ``consent.retention_sweep``).
    retention_sweep_interval: float = 3600.0

    # --- market rules (issue 8) ------------------------------------------------------------
    #: k: the fewest members a community dataset may be computed over (R4).
    community_min_members: int = 5

    # --- household portal (issue 7): sign-in through an OpenID Connect provider (R15) -------
    #: The provider's discovery document (``.../.well-known/openid-configuration``); unset:
    #: no OpenID sign-in. The secret comes from ``PASSERELLE_OIDC_CLIENT_SECRET(_FILE)``.
    oidc_discovery_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    #: The provider's name on the login page ("FranceConnect", "itsme"...).
    oidc_label: str = "OpenID Connect"

    @property
    def oidc_enabled(self) -> bool:
        """True when an OpenID provider is fully configured."""
        return bool(self.oidc_discovery_url and self.oidc_client_id and self.oidc_client_secret)
    # --- replicas and their upstream (issue 9) ----------------------------------------------
    #: Base URL of an in-house DSO API (docs/inhouse-dso-api.md) serving every source, such as
    #: ``passerelle simulator``; unset: the built-in simulator runs inside each process.
    upstream_url: str | None = None
    #: OAuth client credentials at ``upstream_url`` (the secret through ``..._SECRET_FILE``).
    upstream_client_id: str = "passerelle"
    upstream_client_secret: str | None = field(default=None, repr=False)
    #: Longest wait for one upstream HTTP exchange (s): past it, 504 upstream-timeout.
    upstream_timeout: float = 10.0
    #: How often quota headroom and the evidence log's size and checkpoint age are sampled (s).
    telemetry_interval: float = 15.0

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///{data_dir}/passerelle.db``."""
        if self.database_url:
            return self.database_url
        env = os.environ.get("PASSERELLE_DATABASE_URL")
        if env:
            return env
        return f"sqlite:///{(self.data_dir / 'passerelle.db').resolve()}"

    @property
    def issuer(self) -> str:
        """Public base URL without trailing slash (the OAuth issuer identifier)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") \
            else self.host  # an IPv6 literal goes in brackets (RFC 3986 §3.2.2)
        return f"http://{host}:{self.port}"

"""Every Prometheus metric of Passerelle, in one place.

The names below are an interface: dashboards and the alerts of ``docs/operations.md`` use them,
so rename none without a release note. Each application owns a :class:`Metrics` on its own
:class:`~prometheus_client.CollectorRegistry` (``app[metrics_key]``), exposed at ``/metrics``;
no global registry, so several applications live in one process (tests, benchmarks).

Labels are bounded sets, never identifiers: a route *template* (never a path, which may hold a
point id), an error ``code`` and a rule name from the code base, a source name. Nothing here may
carry personal data (R22).

Who feeds what (the sampled gauges come from :mod:`proxy.telemetry`, every
``PASSERELLE_TELEMETRY_INTERVAL`` seconds, read from the database so that every replica reports
the instance's value):

=========================================================  ======================================
metric                                                     fed by
=========================================================  ======================================
``passerelle_http_requests_total{method,route,status}``    every request (middleware)
``passerelle_http_request_duration_seconds{method,route}`` every request (middleware)
``passerelle_http_requests_in_flight``                     every request (middleware)
``passerelle_denials_total{code,rule}``                    every 401/403/429 error raised, and
                                                           :meth:`Metrics.deny` for refusals
                                                           that do not raise
``passerelle_upstream_requests_total{source,outcome}``     the upstream fetcher, one per DSO call
``passerelle_upstream_request_duration_seconds{source}``   the upstream fetcher
``passerelle_upstream_throttled_total{source}``            each 429 answered by a DSO
``passerelle_upstream_quota_headroom_ratio{source,window}`` sampled from the quota ledgers
``passerelle_cache_lookups_total{cache,result}``           the fetcher: ``day`` (sealed day
                                                           cache), ``describe`` (point info)
``passerelle_evidence_log_leaves``                         sampled: the log head's size
``passerelle_evidence_checkpoint_timestamp_seconds``       sampled: the newest checkpoint
``passerelle_retention_removed_total{step}``               the retention sweep (R17), per step
``passerelle_retention_sweep_timestamp_seconds``           the retention sweep, when a run ends
``passerelle_revocation_propagation_seconds``              the PostgreSQL invalidation bus, per
                                                           message heard from a peer replica
``passerelle_build_info{version}``                         set once at start
=========================================================  ======================================
"""

from __future__ import annotations

from importlib import metadata
from typing import Any, Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.gc_collector import GCCollector

_Labelled = Counter | Gauge | Histogram

#: Latency buckets of our own endpoints (seconds): most answers are milliseconds, a data
#: request that waits for an upstream quota slot may take seconds.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: DSO APIs answer in hundreds of milliseconds and time out after tens of seconds.
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: The withdrawal-propagation target is one second (issue 9): buckets around it.
PROPAGATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

UpstreamOutcome = Literal["ok", "client_error", "throttled", "server_error", "timeout",
                          "unavailable", "quota_busy"]
CacheResult = Literal["hit", "miss"]

#: Label value of requests that matched no route (scanners must not blow up cardinality).
UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """The HTTP method, or ``OTHER`` for anything outside the usual set (bounded label)."""
    return method if method in _METHODS else "OTHER"


def _version() -> str:
    try:
        return metadata.version("passerelle")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


class Metrics:
    """The metric objects of one application, registered on :attr:`registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.http_requests = Counter(
            "passerelle_http_requests", "HTTP requests answered, by route template and status.",
            ["method", "route", "status"], registry=r)
        self.http_duration = Histogram(
            "passerelle_http_request_duration_seconds",
            "Time from request to response, by route template.",
            ["method", "route"], buckets=HTTP_BUCKETS, registry=r)
        self.http_in_flight = Gauge(
            "passerelle_http_requests_in_flight", "Requests being handled right now.",
            registry=r)
        self.denials = Counter(
            "passerelle_denials", "Requests refused by a rule: error code and the rule named.",
            ["code", "rule"], registry=r)
        self.upstream_requests = Counter(
            "passerelle_upstream_requests", "Calls to DSO APIs, by source and outcome.",
            ["source", "outcome"], registry=r)
        self.upstream_duration = Histogram(
            "passerelle_upstream_request_duration_seconds", "Duration of DSO API calls.",
            ["source"], buckets=UPSTREAM_BUCKETS, registry=r)
        self.upstream_throttled = Counter(
            "passerelle_upstream_throttled", "HTTP 429 answers received from DSO APIs.",
            ["source"], registry=r)
        self.upstream_quota_headroom = Gauge(
            "passerelle_upstream_quota_headroom_ratio",
            "Share of a DSO quota window still free (1 = untouched, 0 = exhausted).",
            ["source", "window"], registry=r)
        self.cache_lookups = Counter(
            "passerelle_cache_lookups", "Cache lookups by cache and result (hit or miss).",
            ["cache", "result"], registry=r)
        self.evidence_log_leaves = Gauge(
            "passerelle_evidence_log_leaves", "Events integrated in the evidence log (tree size).",
            registry=r)
        self.evidence_checkpoint_time = Gauge(
            "passerelle_evidence_checkpoint_timestamp_seconds",
            "Unix time of the newest signed checkpoint (alert on time() minus this).",
            registry=r)
        self.retention_removed = Counter(
            "passerelle_retention_removed",
            "Usage traces and counts the retention sweep (R17) moved or deleted, by step.",
            ["step"], registry=r)
        self.retention_sweep_time = Gauge(
            "passerelle_retention_sweep_timestamp_seconds",
            "Unix time this replica's last retention sweep (R17) ended without error.",
            registry=r)
        self.revocation_propagation = Histogram(
            "passerelle_revocation_propagation_seconds",
            "Delay between a withdrawal committed on one replica and this replica applying it.",
            buckets=PROPAGATION_BUCKETS, registry=r)
        self.build_info = Gauge(
            "passerelle_build_info", "Always 1; the label carries the running version.",
            ["version"], registry=r)
        self.build_info.labels(version=_version()).set(1)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)  # registers nothing outside CPython

    def child(self, metric: _Labelled, *values: str) -> Any:
        """``metric.labels(*values)``, remembered: ``labels`` validates, locks and hashes on
        every call (a few microseconds, several times per request); the label sets are few
        and bounded (routes, statuses, sources), so each child is looked up once."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    # -- helpers that keep label values inside their documented sets --------------------------

    def deny(self, code: str, rule: str = "") -> None:
        """Count a refusal that does not raise (raised 401/403/429 errors are counted by the
        HTTP edge already; do not count those twice)."""
        self.child(self.denials, code, rule).inc()

    def upstream_call(self, source: str, outcome: UpstreamOutcome, seconds: float) -> None:
        """Record one adapter call; a ``throttled`` outcome also counts a 429 of the DSO
        (``quota_busy``: our limiter refused before sending, not a 429)."""
        self.child(self.upstream_requests, source, outcome).inc()
        self.child(self.upstream_duration, source).observe(seconds)
        if outcome == "throttled":
            self.child(self.upstream_throttled, source).inc()

    def quota_headroom(self, source: str, window: str, free: float, limit: float) -> None:
        """Publish how much of a quota window (``"1s"``, ``"1h"``...) is still free."""
        ratio = 0.0 if limit <= 0 else min(1.0, max(0.0, free / limit))
        self.child(self.upstream_quota_headroom, source, window).set(ratio)

    def cache_lookup(self, cache: str, result: CacheResult, count: int = 1) -> None:
        """Count ``count`` cache lookups (a request for seven days looks up seven)."""
        self.child(self.cache_lookups, cache, result).inc(count)

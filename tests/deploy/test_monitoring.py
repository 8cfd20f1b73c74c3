"""The alert rules speak of metrics that exist, and the runbook documents every metric."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import generate_latest

from proxy.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = yaml.safe_load((ROOT / "deploy" / "monitoring" / "alerts.yaml").read_text())


def exposed_names() -> set[str]:
    """Every sample name a replica exposes (counters with _total, histograms with _bucket...)."""
    metrics = Metrics()
    metrics.upstream_call("enedis", "throttled", 0.1)  # labelled series appear once used
    metrics.quota_headroom("enedis", "1h", 1, 1)
    metrics.cache_lookup("day", "hit")
    metrics.deny("access-denied")
    metrics.http_requests.labels(method="GET", route="/", status="200").inc()
    metrics.http_duration.labels(method="GET", route="/").observe(0.1)
    text = generate_latest(metrics.registry).decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
            if line and not line.startswith("#")}


def test_every_rule_is_complete() -> None:
    rules = [rule for group in RULES["groups"] for rule in group["rules"]]

    assert len(rules) >= 10
    for rule in rules:
        assert rule["alert"].startswith("Passerelle")
        assert rule["labels"]["severity"] in ("page", "ticket")
        assert rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[mh]", rule["for"])


def test_rules_use_only_metrics_that_replicas_expose() -> None:
    exposed = exposed_names()
    used = {name for group in RULES["groups"] for rule in group["rules"]
            for name in re.findall(r"\b((?:passerelle|process)_[a-z_]+)", rule["expr"])}

    assert used
    assert sorted(used - exposed) == []


def test_every_metric_and_alert_is_in_the_runbook() -> None:
    runbook = (ROOT / "docs" / "operations.md").read_text()
    names = {family.name for family in Metrics().registry.collect()
             if family.name.startswith("passerelle_")}
    alerts = {rule["alert"] for group in RULES["groups"] for rule in group["rules"]}

    assert sorted(n for n in names if n not in runbook) == []
    assert sorted(a for a in alerts if a not in runbook) == []

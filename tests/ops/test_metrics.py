"""Prometheus metrics: labelled by route template, denials by code and rule, guarded endpoint."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from consent.errors import AccessDenied, InvalidIdentifier
from proxy.keys import metrics_key
from proxy.metrics import Metrics
from tests.ops.conftest import running

PRM = "22516914714270"
TOKEN = "metrics-token-for-tests-0123456789"


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a text exposition, or None if absent."""
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


async def denied(request: web.Request) -> web.Response:
    raise AccessDenied("Outside the occupancy period.", rule="R8 occupancy")


async def invalid(request: web.Request) -> web.Response:
    raise InvalidIdentifier("Not a PRM.")


async def point(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def add_test_routes(app: web.Application) -> web.Application:
    app.router.add_get("/test/points/{ref}", point)
    app.router.add_get("/test/denied", denied)
    app.router.add_get("/test/invalid", invalid)
    return app


async def test_requests_are_counted_by_route_template_never_by_path(
        make_app: Callable[..., web.Application]) -> None:
    async with running(add_test_routes(make_app())) as client:
        assert (await client.get(f"/test/points/{PRM}?start=2026-01-01")).status == 200
        assert (await client.get(f"/nowhere/{PRM}")).status == 404
        text = await (await client.get("/metrics")).text()

    assert PRM not in text
    assert sample(text, "passerelle_http_requests_total", method="GET",
                  route="/test/points/{ref}", status="200") == 1
    assert sample(text, "passerelle_http_requests_total", route="unmatched", status="404") == 1
    assert sample(text, "passerelle_http_request_duration_seconds_count",
                  route="/test/points/{ref}") == 1


async def test_a_raised_denial_is_counted_with_its_rule_and_malformed_input_is_not(
        make_app: Callable[..., web.Application]) -> None:
    async with running(add_test_routes(make_app())) as client:
        assert (await client.get("/test/denied")).status == 403
        assert (await client.get("/test/invalid")).status == 400
        text = await (await client.get("/metrics")).text()

    assert sample(text, "passerelle_denials_total", code="access-denied",
                  rule="R8 occupancy") == 1
    assert sample(text, "passerelle_denials_total", code="invalid-identifier") is None
    assert sample(text, "passerelle_http_requests_total", route="/test/denied",
                  status="403") == 1


async def test_metrics_without_a_token_answer_a_direct_loopback_peer_only(
        make_app: Callable[..., web.Application]) -> None:
    async with running(make_app()) as client:
        direct = await client.get("/metrics")
        proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})

    assert direct.status == 200
    assert direct.headers["Content-Type"].startswith("text/plain")
    assert proxied.status == 403


async def test_metrics_with_a_token_require_it(
        make_app: Callable[..., web.Application]) -> None:
    async with running(make_app(metrics_token=TOKEN)) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        text = await right.text()

    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status == 401
    assert right.status == 200
    assert "passerelle_build_info" in text


async def test_each_application_has_its_own_registry(
        make_app: Callable[..., web.Application]) -> None:
    first, second = make_app(), make_app()

    first[metrics_key].deny("access-denied", "R12 consent")

    assert first[metrics_key].registry is not second[metrics_key].registry
    assert second[metrics_key].denials.labels(code="access-denied",
                                              rule="R12 consent")._value.get() == 0


def test_helpers_keep_the_documented_meaning() -> None:
    metrics = Metrics()

    metrics.upstream_call("enedis", "throttled", 0.2)
    metrics.upstream_call("enedis", "ok", 0.1)
    metrics.quota_headroom("enedis", "1h", free=1500, limit=1000)
    metrics.quota_headroom("grdf", "1h", free=0, limit=0)
    metrics.cache_lookup("day", "hit")
    text = _exposition(metrics)

    assert sample(text, "passerelle_upstream_throttled_total", source="enedis") == 1
    assert sample(text, "passerelle_upstream_requests_total", source="enedis",
                  outcome="ok") == 1
    assert sample(text, "passerelle_upstream_quota_headroom_ratio", source="enedis",
                  window="1h") == 1.0
    assert sample(text, "passerelle_upstream_quota_headroom_ratio", source="grdf",
                  window="1h") == 0.0
    assert sample(text, "passerelle_cache_lookups_total", cache="day", result="hit") == 1


def _exposition(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()

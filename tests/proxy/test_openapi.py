"""The OpenAPI document validates, matches the routes, and the docs page stands alone."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests.proxy.world import World


async def test_the_document_is_valid_openapi_31_and_every_path_is_routed(world: World) -> None:
    async with world.client.get("/api/openapi.json") as response:
        assert response.status == 200
        document = await response.json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    routed = {r.resource.canonical for r in world.client.app.router.routes()
              if r.resource is not None}
    for path in document["paths"]:
        assert path in routed, path
    native = {path for path in routed if path.startswith("/api/v1/")}
    assert native <= set(document["paths"])  # and every native endpoint is documented
    oauth = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert oauth["clientCredentials"]["tokenUrl"] == world.issuer + "/oauth2/token"


async def test_the_docs_page_is_self_contained(world: World) -> None:
    async with world.client.get("/api/docs") as response:
        assert response.status == 200
        html = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert "/api/v1/points/{point_id}/datasets/{dataset}" in html
    assert "/compat/enedis/metering_data_dc/v5/daily_consumption" in html
    assert "<script" not in html
    assert not re.search(r'(src|href)="https?://', html)  # no CDN, nothing external
    assert "default-src 'none'" in csp

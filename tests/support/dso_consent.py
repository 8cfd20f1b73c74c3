"""A DSO with its own consent page (like Enedis Data Connect), on 127.0.0.1, in front of the
simulator: the household "consents" there to the points the test chose, the browser comes back
with a code, and the code is redeemed server to server for those points."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.errors import UpstreamDenied
from adapters.simulator import Simulator, SimulatorAdapter
from consent.identifiers import PointRef


class ConsentPageAdapter(SimulatorAdapter):
    """The simulator as an adapter, plus :class:`adapters.base.UpstreamConsentFlow`."""

    def __init__(self, simulator: Simulator, base: str = "") -> None:
        super().__init__(simulator, timeout=5.0)
        self.base = base
        self.consenting: tuple[PointRef, ...] = ()  # what the household ticks at the DSO
        self.codes: dict[str, tuple[str, tuple[PointRef, ...]]] = {}

    def consent_url(self, *, state: str, redirect_uri: str) -> str:
        return f"{self.base}/authorize?" + urlencode({"state": state,
                                                      "redirect_uri": redirect_uri})

    async def redeem(self, code: str, *, redirect_uri: str) -> tuple[PointRef, ...]:
        async with aiohttp.ClientSession() as http, http.post(
                f"{self.base}/token", data={"code": code, "redirect_uri": redirect_uri}) as r:
            if r.status != 200:
                raise UpstreamDenied("The DSO refused the consent code.")
            body = await r.json()
        return tuple(PointRef.parse(p) for p in body["usage_points"])


def _app(adapter: ConsentPageAdapter) -> web.Application:
    async def authorize(request: web.Request) -> web.Response:
        code = secrets.token_urlsafe(16)
        adapter.codes[code] = (request.query["redirect_uri"], adapter.consenting)
        target = request.query["redirect_uri"] + "?" + urlencode({
            "code": code, "state": request.query["state"],
            "usage_point_id": ",".join(p.identifier for p in adapter.consenting)})
        return web.Response(status=302, headers={"Location": target})

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        grant = adapter.codes.pop(str(form.get("code")), None)
        if grant is None or grant[0] != form.get("redirect_uri"):
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"usage_points": [str(p) for p in grant[1]]})

    app = web.Application()
    app.router.add_get("/authorize", authorize)
    app.router.add_post("/token", token)
    return app


async def serve(adapter: ConsentPageAdapter) -> AsyncIterator[ConsentPageAdapter]:
    """Run the DSO's consent page on a free loopback port."""
    server = TestServer(_app(adapter), host="127.0.0.1")
    await server.start_server()
    adapter.base = str(server.make_url("")).rstrip("/")
    try:
        yield adapter
    finally:
        await server.close()

"""How much does an OAuth call cost compared with the cheapest request of the same server?

Starts Passerelle on SQLite on 127.0.0.1, registers one client, then times sequential requests:
``GET /healthz`` (baseline: routing, middlewares, one ``SELECT 1``), a client-credentials token
(read the form, load the client, authlib, store two rows), an introspection, and the bearer
check the data proxy runs (``authenticate_bearer``). Prints requests per second and the ratio
to the baseline measured in the same run. Run: ``python bench/bench_oauth.py [N]``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proxy_world import one_recipient
from proxy.app import create_app
from proxy.auth import authenticate_bearer
from proxy.settings import Settings


async def timed(session: aiohttp.ClientSession, n: int, method: str, url: str,
                **kwargs: object) -> float:
    start = time.perf_counter()
    for _ in range(n):
        async with session.request(method, url, **kwargs) as response:  # type: ignore[arg-type]
            await response.read()
            assert response.status == 200, response.status
    return n / (time.perf_counter() - start)


async def main(n: int) -> None:
    data_dir = Path(tempfile.mkdtemp())
    url = f"sqlite:///{data_dir / 'bench.db'}"
    client_id, secret = await one_recipient(url)
    port = unused_port()
    app = create_app(Settings(data_dir=data_dir, database_url=url, port=port))

    async def probe(request: web.Request) -> web.Response:
        await authenticate_bearer(request)
        return web.Response(text="ok")

    app.router.add_get("/bench/probe", probe)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": aiohttp.encode_basic_auth(client_id, secret)}
    form = {"grant_type": "client_credentials"}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(base + "/oauth2/token", data=form, headers=auth) as r:
                token = (await r.json())["access_token"]
            await timed(session, 50, "GET", base + "/healthz")  # warm up
            rates = {
                "healthz (baseline)": await timed(session, n, "GET", base + "/healthz"),
                "token client_credentials": await timed(session, n, "POST",
                                                        base + "/oauth2/token", data=form,
                                                        headers=auth),
                "introspect": await timed(session, n, "POST", base + "/oauth2/introspect",
                                          data={"token": token}, headers=auth),
                "authenticate_bearer": await timed(session, n, "GET", base + "/bench/probe",
                                                   headers={"Authorization": f"Bearer {token}"}),
            }
    finally:
        await server.close()
    baseline = rates["healthz (baseline)"]
    for name, rate in rates.items():
        print(f"{name:<28} {rate:8.0f} req/s   {baseline / rate:5.2f}x the baseline's time")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))

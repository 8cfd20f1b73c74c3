"""``PASSERELLE_UPSTREAM_URL``: replicas read a remote in-house DSO API (the simulator run by
``passerelle simulator`` in the deployment topology) instead of an in-process simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from adapters.inhouse.client import InhouseClient
from adapters.simulator import Simulator
from proxy.app import create_app
from proxy.keys import adapters_key, upstream_limiter_key
from proxy.settings import Settings
from tests.contract.servers import CLIENT_ID, CLIENT_SECRET, serve
from tests.proxy.world import PRM, build_world, profile
from tests.support.databases import SqliteFactory


async def test_a_replica_serves_data_from_the_remote_dso(sqlite_factory: SqliteFactory,
                                                        tmp_path: Path) -> None:
    url = sqlite_factory.create()
    world = await build_world(url, tmp_path)  # seeds the household, consents and apps
    token = await world.token("dash")
    async for dso in serve(Simulator(world.clock, [profile()])):
        settings = Settings(data_dir=tmp_path, database_url=url, upstream_url=dso,
                            upstream_client_id=CLIENT_ID, upstream_client_secret=CLIENT_SECRET)
        app = create_app(settings, clock=world.clock)
        replica: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await replica.start_server()
        try:
            async with replica.get(f"/api/v1/points/{PRM}/datasets/daily_consumption",
                                   params={"start": "2026-11-01", "end": "2026-11-08"},
                                   headers={"Authorization": f"Bearer {token}"}) as response:
                status, body = response.status, await response.json()
            adapters = set(map(type, app[adapters_key].values()))
            client = next(iter(app[adapters_key].values()))
            shared = isinstance(client, InhouseClient) and \
                client.limiter is app[upstream_limiter_key]
            room = await app[upstream_limiter_key].headroom()
        finally:
            await replica.close()
    await world.client.close()
    sqlite_factory.drop(url)

    assert status == 200, body
    assert len(body["values"]) == 7
    assert adapters == {InhouseClient}
    assert shared  # the remote client takes its turns from the replica's one limiter
    # describe + one series call, under the simulator server's announced quotas (the 1 s
    # window may have emptied again on a slow machine)
    free = {window: left for (_, window), (left, _) in room.items()}
    assert set(free) == {"app/20per1s", "app/10000per3600s"}
    assert free["app/10000per3600s"] == 9998
    assert free["app/20per1s"] >= 18
